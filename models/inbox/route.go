package inbox

import (
	"context"

	"github.com/google/uuid"

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
// rules choose (outbox.Choose) from what is known of the owner (reach),
// held through quiet hours (outbox.SendAt), and for marketing only under
// the weekly cap (underCap). Push goes to each of the owner's live devices,
// the other channels to one address; a WeChat message takes one of the
// owner's subscription permissions. An owner with no channel left gets
// the inbox item only. Statements: the addressee, the owner's settings for
// the kind, the WeChat permission (when WeChat is allowed), the live
// devices (only when push is configured and allowed), the marketing count
// (marketing only), the permission taken (WeChat only), and one per
// delivery (docs/notifications.md).
func (s *Service) deliver(ctx context.Context, n *Notification) error {
	class, ok := outbox.ClassOf(n.Kind)
	if !ok {
		return nil
	}
	// Marketing locks the owner's row for no key update (the notification
	// just inserted holds a key share on it, which FOR UPDATE would wait
	// for and deadlock on), so that concurrent notifications to one owner
	// cannot both pass the cap.
	to, err := s.directory().Addressee(ctx, n.OwnerID, n.VehicleID, n.StoreID, class == outbox.Marketing)
	if err != nil {
		return err
	}
	r, err := s.reach(ctx, n, to)
	if err != nil {
		return err
	}
	ch := outbox.Choose(n.Kind, r.Reach)
	if ch == "" {
		return nil
	}
	now := s.Clock.Now(ctx)
	if class == outbox.Marketing {
		if ok, err := s.underCap(ctx, n.OwnerID); err != nil || !ok {
			return err
		}
	}
	if ch == outbox.ChannelWeChat {
		// One permission per message, taken in this transaction; none left
		// (raced away): the next channel.
		if ch, err = s.WeChat.Take(ctx, n.OwnerID, n.Kind, r.Reach); err != nil || ch == "" {
			return err
		}
	}
	_, err = s.Outbox.Enqueue(ctx, outbox.Message{OwnerID: &n.OwnerID, NotificationID: &n.ID, Kind: n.Kind,
		Payload: payload(to, n), DedupeKey: "notification:" + n.ID.String(), To: r.recipients(ch, to),
		NotBefore: outbox.SendAt(n.Kind, now)})
	return err
}

// route is what deliver knows of an owner for one message: their reach and
// the addresses a channel would use.
type route struct {
	outbox.Reach
	// devices are the owner's live push devices, the latest seen first.
	devices []uuid.UUID
}

// reach reads the channels the owner allows for n's kind, whether a WeChat
// subscription permission is left for it and, when push is configured and
// allowed, their live devices.
func (s *Service) reach(ctx context.Context, n *Notification, to *directory.Addressee) (route, error) {
	chosen, err := s.chosen(ctx, n.OwnerID, n.Kind)
	if err != nil {
		return route{}, err
	}
	r := route{Reach: outbox.Reach{Chosen: chosen, Consent: to.MarketingConsent,
		Phone: to.Phone != "", SMSTemplate: s.Outbox.Sends(outbox.ChannelSMS, n.Kind)}}
	if r.Allows(outbox.ChannelWeChat) {
		if r.WeChatPermission, err = s.WeChat.Reach(ctx, &to.Owner, n.Kind); err != nil {
			return route{}, err
		}
	}
	if r.Allows(outbox.ChannelPush) && s.Outbox.Sends(outbox.ChannelPush, n.Kind) {
		live, err := s.devices().LiveDevices(ctx, []uuid.UUID{n.OwnerID}, s.Clock.Now(ctx))
		if err != nil {
			return route{}, err
		}
		r.devices = live[n.OwnerID]
		r.LiveDevice = len(r.devices) > 0
	}
	return r, nil
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

// underCap counts the owner's marketing messages of the last
// outbox.CapWindow (their row locked by the caller) and reports whether
// one more is allowed. A message pushed to several devices is several
// deliveries of one notification: it counts once.
func (s *Service) underCap(ctx context.Context, owner uuid.UUID) (bool, error) {
	sent, err := s.Outbox.SentSince(ctx, owner, outbox.KindsOf(outbox.Marketing), s.Clock.Now(ctx).Add(-outbox.CapWindow))
	if err != nil {
		return false, err
	}
	return outbox.UnderCap(outbox.Marketing, sent, s.Routing.MarketingWeeklyCap), nil
}
