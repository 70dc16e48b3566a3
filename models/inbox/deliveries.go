package inbox

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// DeliveriesAbout reads, for each link, the delivery states of the
// notifications of kind that link it (every owner's), oldest first, in two
// statements whatever the number of links. It does no authorization: the
// capability that owns what the links name decides who sees it.
func (s *Service) DeliveriesAbout(ctx context.Context, kind string, links []models.Link) (map[models.Link][]outbox.State, error) {
	out := map[models.Link][]outbox.State{}
	if len(links) == 0 {
		return out, nil
	}
	var ns []Notification
	if err := s.DB.Conn(ctx).Select("id", "link").Where("kind = ? AND link IN ?", kind, links).Find(&ns).Error; err != nil {
		return nil, err
	}
	if len(ns) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(ns))
	linkOf := make(map[uuid.UUID]models.Link, len(ns))
	for i, n := range ns {
		ids[i], linkOf[n.ID] = n.ID, n.Link
	}
	states, err := outbox.StatesOf(ctx, s.DB, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		l := linkOf[id]
		out[l] = append(out[l], states[id]...)
	}
	// Oldest first across the notifications of one link too.
	for _, sts := range out {
		slices.SortStableFunc(sts, func(a, b outbox.State) int { return a.CreatedAt.Compare(b.CreatedAt) })
	}
	return out, nil
}
