package roadside

import (
	"context"
	"fmt"
	"time"

	"github.com/ownerhub/ownerhub/models/inbox"
)

// Notification kinds roadside assistance puts in owners' inboxes: one per
// change staff make (the owner's own request and cancellation need none).
const (
	NotifyAccepted   = "ASSISTANCE_ACCEPTED"
	NotifyDispatched = "ASSISTANCE_DISPATCHED"
	NotifyClosed     = "ASSISTANCE_CLOSED"
	NotifyCancelled  = "ASSISTANCE_CANCELLED"
)

// notify tells the owner of a staff move of r. The dedupe key is the
// request's version after the move, so one change is one inbox item.
func (s *Service) notify(ctx context.Context, r *Request, c change, now time.Time) error {
	var kind, title, body string
	switch c.to {
	case Accepted:
		kind, title, body = NotifyAccepted, "救援请求已受理", "门店已受理您的救援请求，正在安排救援人员，请保持电话畅通。"
	case Dispatched:
		name, _ := c.fields["dispatcher_name"].(*string)
		phone, _ := c.fields["dispatcher_phone"].(*string)
		eta, _ := c.fields["eta"].(*time.Time)
		kind, title = NotifyDispatched, "救援人员已出发"
		if name != nil && phone != nil && eta != nil {
			body = fmt.Sprintf("救援人员%s（%s）已出发，预计 %d 分钟内到达。", *name, *phone, int(eta.Sub(now).Round(time.Minute)/time.Minute))
		}
	case Closed:
		kind, title, body = NotifyClosed, "救援已完成", c.note
	case Cancelled:
		kind, title, body = NotifyCancelled, "救援请求已取消", "门店取消了您的救援请求："+c.note
	default:
		return nil
	}
	key := fmt.Sprintf("assistance:%s:%d", r.ID, r.Version+1)
	_, err := s.inbox().CreateNotification(ctx, &inbox.Notification{
		OwnerID: r.OwnerID, Kind: kind, Title: title, Body: body,
		Link: RequestLink(r.ID), DedupeKey: &key, CreatedAt: now,
		VehicleID: &r.VehicleID, StoreID: &r.StoreID,
	})
	return err
}
