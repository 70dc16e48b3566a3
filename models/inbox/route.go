package inbox

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// Routing configures how notifications leave the inbox through the outbox.
type Routing struct {
	// MarketingWeeklyCap is how many marketing messages an owner is sent
	// at most in any 7 days beyond the inbox (0: none).
	MarketingWeeklyCap int
}

// deliver writes n's deliveries, in n's transaction, on the channel its
// rules choose (outbox.Choose) from what is known of the owner, held
// through quiet hours (outbox.SendAt), and for marketing only under the
// weekly cap: deliverAll of one notification.
func (s *Service) deliver(ctx context.Context, n *Notification) error {
	return s.deliverAll(ctx, []*Notification{n})
}

// routed is one notification on its way out: its addressee, what is known
// of their reach and the channel chosen ("" for the inbox only).
type routed struct {
	n     *Notification
	class outbox.Class
	to    *directory.Addressee
	r     route
	ch    string
}

// deliverAll writes the deliveries of new notifications ns, in their
// transaction, each on the channel its rules choose (outbox.Choose) from
// what is known of the owner, held through quiet hours (outbox.SendAt),
// and for marketing only under the weekly cap. Push goes to each of the
// owner's live devices, the other channels to one address; a WeChat
// message takes one of the owner's subscription permissions. An owner with
// no channel left gets the inbox item only.
//
// Its statements do not grow with the notifications (a campaign's batch of
// 200 owners; docs/notifications.md): the addressees (the owners of
// marketing notifications locked, in id order, in the same statement),
// their settings, the WeChat permissions (when WeChat is allowed; one per
// kind), the live devices (only when push is configured and allowed), the
// marketing counts (marketing only), the permissions taken (WeChat only;
// two per kind and round, a round being each owner's first notification,
// then second...), and the deliveries with their jobs.
func (s *Service) deliverAll(ctx context.Context, ns []*Notification) error {
	var rs []*routed
	lock := false
	for _, n := range ns {
		if class, ok := outbox.ClassOf(n.Kind); ok {
			rs = append(rs, &routed{n: n, class: class})
			// Marketing locks the owner's row for no key update (the
			// notification just inserted holds a key share on it, which
			// FOR UPDATE would wait for and deadlock on), so that
			// concurrent notifications to one owner cannot both pass the
			// cap.
			lock = lock || class == outbox.Marketing
		}
	}
	if len(rs) == 0 {
		return nil
	}
	if err := s.addressees(ctx, rs, lock); err != nil {
		return err
	}
	if err := s.reachAll(ctx, rs); err != nil {
		return err
	}
	var msgs []outbox.Message
	now := s.Clock.Now(ctx)
	var sent map[uuid.UUID]int // marketing messages of the cap's window
	for _, round := range rounds(rs) {
		if sent == nil && slices.ContainsFunc(round, func(r *routed) bool { return r.class == outbox.Marketing && r.ch != "" }) {
			var err error
			if sent, err = s.sentAll(ctx, rs); err != nil {
				return err
			}
		}
		for _, r := range round {
			if r.class == outbox.Marketing && r.ch != "" && !outbox.UnderCap(outbox.Marketing, sent[r.n.OwnerID], s.Routing.MarketingWeeklyCap) {
				r.ch = ""
			}
		}
		if err := s.takeWeChat(ctx, round); err != nil {
			return err
		}
		for _, r := range round {
			if r.ch == "" {
				continue
			}
			if r.class == outbox.Marketing {
				sent[r.n.OwnerID]++
			}
			n := r.n
			msgs = append(msgs, outbox.Message{OwnerID: &n.OwnerID, NotificationID: &n.ID, Kind: n.Kind,
				Payload: payload(r.to, n), DedupeKey: "notification:" + n.ID.String(), To: r.r.recipients(r.ch, r.to),
				NotBefore: outbox.SendAt(n.Kind, now)})
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	_, err := s.Outbox.EnqueueAll(ctx, msgs)
	return err
}

// rounds splits rs so that each owner is once in a round: every owner's
// first notification, then every second one, and so on (a campaign's
// batch is one round). Within a round the marketing counts and the WeChat
// permissions of an owner are read and taken once.
func rounds(rs []*routed) [][]*routed {
	var out [][]*routed
	seen := map[uuid.UUID]int{}
	for _, r := range rs {
		i := seen[r.n.OwnerID]
		seen[r.n.OwnerID] = i + 1
		if i == len(out) {
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// addressees reads each notification's addressee: one statement for the
// notifications about one car and store (a campaign's batch: none and its
// store); with several, the owners are locked first in one statement.
func (s *Service) addressees(ctx context.Context, rs []*routed, lock bool) error {
	type about struct{ vehicle, store uuid.UUID }
	groups := map[about][]*routed{}
	owners := make([]uuid.UUID, 0, len(rs))
	for _, r := range rs {
		var a about
		if r.n.VehicleID != nil {
			a.vehicle = *r.n.VehicleID
		}
		if r.n.StoreID != nil {
			a.store = *r.n.StoreID
		}
		groups[a] = append(groups[a], r)
		owners = append(owners, r.n.OwnerID)
	}
	dir := s.directory()
	if len(groups) > 1 && lock {
		if _, err := dir.Addressees(ctx, owners, nil, nil, true); err != nil {
			return err
		}
		lock = false
	}
	for _, g := range groups {
		ids := make([]uuid.UUID, len(g))
		for i, r := range g {
			ids[i] = r.n.OwnerID
		}
		to, err := dir.Addressees(ctx, ids, g[0].n.VehicleID, g[0].n.StoreID, lock)
		if err != nil {
			return err
		}
		for _, r := range g {
			if r.to = to[r.n.OwnerID]; r.to == nil {
				return fmt.Errorf("inbox: deliver: owner %s: %w", r.n.OwnerID, gorm.ErrRecordNotFound)
			}
		}
	}
	return nil
}

// route is what deliver knows of an owner for one message: their reach and
// the addresses a channel would use.
type route struct {
	outbox.Reach
	// devices are the owner's live push devices, the latest seen first.
	devices []uuid.UUID
}

// reachAll reads, for every notification, the channels the owner allows
// for its kind, whether a WeChat subscription permission is left for it
// and, when push is configured and allowed, their live devices, and
// chooses its channel.
func (s *Service) reachAll(ctx context.Context, rs []*routed) error {
	chosen, err := s.chosenAll(ctx, rs)
	if err != nil {
		return err
	}
	wechat := map[string][]*models.Owner{} // by kind
	var push []uuid.UUID
	for _, r := range rs {
		n := r.n
		r.r = route{Reach: outbox.Reach{Chosen: chosen[setting{n.OwnerID, n.Kind}], Consent: r.to.MarketingConsent,
			Phone: r.to.Phone != "", SMSTemplate: s.Outbox.Sends(outbox.ChannelSMS, n.Kind)}}
		if r.r.Allows(outbox.ChannelWeChat) {
			wechat[n.Kind] = append(wechat[n.Kind], &r.to.Owner)
		}
		if r.r.Allows(outbox.ChannelPush) && s.Outbox.Sends(outbox.ChannelPush, n.Kind) {
			push = append(push, n.OwnerID)
		}
	}
	permitted := map[string]map[uuid.UUID]bool{}
	for kind, owners := range wechat {
		if permitted[kind], err = s.WeChat.ReachAll(ctx, owners, kind); err != nil {
			return err
		}
	}
	live := map[uuid.UUID][]uuid.UUID{}
	if len(push) > 0 {
		if live, err = s.devices().LiveDevices(ctx, push, s.Clock.Now(ctx)); err != nil {
			return err
		}
	}
	for _, r := range rs {
		r.r.WeChatPermission = permitted[r.n.Kind][r.n.OwnerID]
		if r.r.Allows(outbox.ChannelPush) && s.Outbox.Sends(outbox.ChannelPush, r.n.Kind) {
			r.r.devices = live[r.n.OwnerID]
			r.r.LiveDevice = len(r.r.devices) > 0
		}
		r.ch = outbox.Choose(r.n.Kind, r.r.Reach)
	}
	return nil
}

// takeWeChat takes a subscription permission for each notification of the
// round that goes by WeChat (in one pair of statements per kind); one
// whose permission another message took meanwhile goes on the next
// channel.
func (s *Service) takeWeChat(ctx context.Context, round []*routed) error {
	byKind := map[string][]uuid.UUID{}
	for _, r := range round {
		if r.ch == outbox.ChannelWeChat {
			byKind[r.n.Kind] = append(byKind[r.n.Kind], r.n.OwnerID)
		}
	}
	for kind, owners := range byKind {
		taken, err := s.WeChat.TakeAll(ctx, owners, kind)
		if err != nil {
			return err
		}
		for _, r := range round {
			if r.ch == outbox.ChannelWeChat && r.n.Kind == kind && !taken[r.n.OwnerID] {
				r.r.WeChatPermission = false
				r.ch = outbox.Choose(kind, r.r.Reach)
			}
		}
	}
	return nil
}

// recipients are the addresses of the owner on channel ch: each live
// device for push, the openid for WeChat, the phone for SMS.
func (r route) recipients(ch string, to *directory.Addressee) []outbox.Recipient {
	switch ch {
	case outbox.ChannelPush:
		out := make([]outbox.Recipient, len(r.devices))
		for i, d := range r.devices {
			out[i] = outbox.Recipient{Channel: ch, Address: d.String()}
		}
		return out
	case outbox.ChannelWeChat:
		return []outbox.Recipient{{Channel: ch, Address: *to.WeChatOpenID}}
	case outbox.ChannelSMS:
		return []outbox.Recipient{{Channel: ch, Address: to.Phone}}
	}
	return nil
}

// sentAll counts the marketing messages of the last outbox.CapWindow of
// the owners of rs (their rows locked by deliverAll), in one statement. A
// message pushed to several devices is several deliveries of one
// notification: it counts once.
func (s *Service) sentAll(ctx context.Context, rs []*routed) (map[uuid.UUID]int, error) {
	owners := make([]uuid.UUID, 0, len(rs))
	for _, r := range rs {
		if r.class == outbox.Marketing {
			owners = append(owners, r.n.OwnerID)
		}
	}
	return s.Outbox.SentSinceAll(ctx, owners, outbox.KindsOf(outbox.Marketing), s.Clock.Now(ctx).Add(-outbox.CapWindow))
}
