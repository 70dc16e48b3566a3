// How an app uses the generated types: the answers of the README tour's
// operations, typed, and the server's codes as a union a switch must cover.
import type { ErrorCode } from './generated/schema';
import type { BookAppointmentMutation, MyCarsQuery } from './generated/operations';

/** The plates of the signed-in owner's cars (a car may have none yet). */
export function plates(answer: MyCarsQuery): string[] {
  return answer.me.vehicles.edges.flatMap((edge) => (edge.node.plate === null ? [] : [edge.node.plate]));
}

/** What the booking screen says, or null when the appointment was booked. */
export function bookingRefusal(answer: BookAppointmentMutation): string | null {
  const [refusal] = answer.bookAppointment.userErrors;
  if (refusal === undefined) {
    return null;
  }
  return retryable(refusal.code) ? 'try again shortly' : refusal.message;
}

/** Whether the same request may succeed when sent again (docs/transport.md). */
export function retryable(code: ErrorCode): boolean {
  switch (code) {
    case 'UNAVAILABLE':
    case 'BUSY':
    case 'RATE_LIMITED':
      return true;
    default:
      return false;
  }
}
