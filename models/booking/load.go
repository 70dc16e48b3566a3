package booking

import "context"

// LoadPast inserts appointments of the past as they ended, in the
// transaction of ctx, in batches: history loaded in bulk (the demo data of
// models/demo). They hold no seat and are not checked; no GraphQL or REST
// operation reaches this.
func (s *Service) LoadPast(ctx context.Context, rows []Appointment) error {
	if len(rows) == 0 {
		return nil
	}
	return s.DB.Conn(ctx).CreateInBatches(&rows, 100).Error
}
