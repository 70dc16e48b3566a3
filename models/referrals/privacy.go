package referrals

import (
	"context"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// What referrals hold about an owner, for the owner's data rights (PIPL).

// Export is the referrals section of an owner's data export.
type Export struct {
	Code *Code `json:"code"`
	// Made are the owner's referrals of others; Received the one that
	// brought the owner (nil: none).
	Made     []*Referral `json:"made"`
	Received *Referral   `json:"received"`
	Devices  []*Device   `json:"devices"`
}

// ExportOwner gathers the owner's code, referrals both ways and devices,
// in four statements.
func (s *Service) ExportOwner(ctx context.Context, ownerID uuid.UUID) (any, error) {
	conn := s.DB.Conn(ctx)
	out := Export{Made: []*Referral{}, Devices: []*Device{}}
	var codes []*Code
	if err := conn.Where("owner_id = ?", ownerID).Find(&codes).Error; err != nil {
		return nil, err
	}
	if len(codes) == 1 {
		out.Code = codes[0]
	}
	if err := conn.Where("referrer_id = ?", ownerID).Order("id").Find(&out.Made).Error; err != nil {
		return nil, err
	}
	var received []*Referral
	if err := conn.Where("referred_id = ?", ownerID).Find(&received).Error; err != nil {
		return nil, err
	}
	if len(received) == 1 {
		out.Received = received[0]
	}
	if err := conn.Where("owner_id = ?", ownerID).Order("device_id").Find(&out.Devices).Error; err != nil {
		return nil, err
	}
	return out, nil
}

// ForgetPhone runs in an account deletion while the owner's row still
// holds the phone (privacy.Service.BeforeAnonymise): it keeps the phone's
// one-way digest, so the phone signing up again with a code is not taken
// for a new customer (docs/referrals.md, "Abuse").
func (s *Service) ForgetPhone(ctx context.Context, o *models.Owner) error {
	digest, err := s.phoneDigest(o.Phone)
	if err != nil {
		return err
	}
	return s.DB.Conn(ctx).Exec(`INSERT INTO referral_erased_phones (phone_digest, erased_at) VALUES (?, ?)
		ON CONFLICT (phone_digest) DO NOTHING`, digest, s.Clock.Now(ctx).UTC()).Error
}

// EraseOwner runs inside an account deletion: the owner's code and
// devices go; the referrals stay as the stores' record of rewards paid
// (and as the once-per-owner guard), naming the owner by id only, with
// the masked phone and devices they showed cleared.
func (s *Service) EraseOwner(ctx context.Context, ownerID uuid.UUID) error {
	conn := s.DB.Conn(ctx)
	if err := conn.Where("owner_id = ?", ownerID).Delete(&Code{}).Error; err != nil {
		return err
	}
	if err := conn.Where("owner_id = ?", ownerID).Delete(&Device{}).Error; err != nil {
		return err
	}
	return conn.Model(&Referral{}).Where("referred_id = ?", ownerID).
		Updates(map[string]any{"friend_phone": "", "device_id": "", "updated_at": s.Clock.Now(ctx)}).Error
}
