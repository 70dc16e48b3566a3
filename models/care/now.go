package care

import "context"

// What a complaint, a follow-up task or a survey shows depends on when it is
// read: these read the time from the service's clock (models.Clock.Now), so
// that the edge reads no clock and tests move one.

// ResponseDeadline is c's first-response deadline as of now.
func (s *Service) ResponseDeadline(ctx context.Context, c *Complaint) Deadline {
	return c.Response(s.Clock.Now(ctx))
}

// ProposalDeadline is c's proposal deadline as of now.
func (s *Service) ProposalDeadline(ctx context.Context, c *Complaint) Deadline {
	return c.ProposalDeadline(s.Clock.Now(ctx))
}

// ResolutionDeadline is c's resolution deadline as of now.
func (s *Service) ResolutionDeadline(ctx context.Context, c *Complaint) Deadline {
	return c.ResolutionDeadline(s.Clock.Now(ctx))
}

// ComplaintOverdue reports whether c has missed a deadline as of now.
func (s *Service) ComplaintOverdue(ctx context.Context, c *Complaint) bool {
	return c.Overdue(s.Clock.Now(ctx))
}

// TaskOverdue reports whether t is past due as of now.
func (s *Service) TaskOverdue(ctx context.Context, t *FollowUpTask) bool {
	return t.Overdue(s.Clock.Now(ctx))
}

// SurveyEditable reports whether sv may still be edited as of now.
func (s *Service) SurveyEditable(ctx context.Context, sv *Survey) bool {
	return sv.Editable(s.Clock.Now(ctx))
}
