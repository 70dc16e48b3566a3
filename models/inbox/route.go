package inbox

import (
	"context"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// Routing configures how notifications leave the inbox through the outbox.
type Routing struct {
	// MarketingWeeklyCap is how many marketing messages an owner is sent
	// at most in any 7 days beyond the inbox (0: none).
	MarketingWeeklyCap int
}

// deliver writes n's delivery, in n's transaction, on the channel its rules
// choose (outbox.Choose), held through quiet hours (outbox.SendAt), and
// for marketing only under the weekly cap: counted with the owner's row
// locked (FOR NO KEY UPDATE: the notification just inserted holds a key
// share on it, which FOR UPDATE would wait for and deadlock on), so that
// concurrent notifications to one owner cannot both pass it. An owner with no channel left gets the inbox item only.
func (s *Service) deliver(ctx context.Context, n *Notification) error {
	class, ok := outbox.ClassOf(n.Kind)
	if !ok {
		return nil
	}
	var owner *models.Owner
	var err error
	if class == outbox.Marketing {
		owner, err = s.directory().LockOwner(ctx, n.OwnerID, true, true)
	} else {
		owner, err = s.directory().Owner(ctx, n.OwnerID)
	}
	if err != nil {
		return err
	}
	chosen, err := s.chosen(ctx, n.OwnerID, n.Kind)
	if err != nil {
		return err
	}
	ch := outbox.Choose(n.Kind, outbox.Reach{Chosen: chosen, Consent: owner.MarketingConsent,
		Phone: owner.Phone != "", SMSTemplate: s.Outbox.Sends(outbox.ChannelSMS, n.Kind)})
	if ch == "" {
		return nil
	}
	now := s.Clock.Now(ctx)
	if class == outbox.Marketing {
		sent, err := s.Outbox.SentSince(ctx, n.OwnerID, outbox.KindsOf(outbox.Marketing), now.Add(-outbox.CapWindow))
		if err != nil {
			return err
		}
		if !outbox.UnderCap(class, sent, s.Routing.MarketingWeeklyCap) {
			return nil
		}
	}
	to := outbox.Recipient{Channel: ch}
	if ch == outbox.ChannelSMS {
		to.Address = owner.Phone
	}
	_, err = s.Outbox.Enqueue(ctx, outbox.Message{OwnerID: &n.OwnerID, NotificationID: &n.ID, Kind: n.Kind,
		Payload: payload(owner, n), DedupeKey: "notification:" + n.ID.String(), To: []outbox.Recipient{to},
		NotBefore: outbox.SendAt(n.Kind, now)})
	return err
}

// payload is the template parameters of n: each within the SMS provider's
// limit on one variable.
func payload(owner *models.Owner, n *Notification) map[string]string {
	return map[string]string{
		"name":  outbox.Cut(owner.Name, outbox.MaxParamRunes),
		"title": outbox.Cut(n.Title, outbox.MaxParamRunes),
	}
}
