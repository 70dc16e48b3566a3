package referrals

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Config is how referrals are offered.
type Config struct {
	// LinkBase starts every owner's referral link; the code ends it.
	LinkBase string
	// Reward is what each side earns (zero: DefaultRewardPoints points).
	Reward Reward
	// PhoneKey keys the digests of erased owners' phones (PhoneDigest):
	// a secret of the deployment, the same on every instance and kept
	// across restarts, or the phones erased before a change of key are no
	// longer recognised.
	PhoneKey []byte
}

// DefaultLinkBase is the link base without configuration.
const DefaultLinkBase = "https://ownerhub.example.com/r/"

// Service runs referrals on a database.
//
// A referral is rewarded at most once: the referred owner has at most one
// referral (a unique key), and the reward is granted only by the
// transaction whose conditional update moves it from PENDING, in the
// transaction of the qualifying settlement or registration; the points'
// ledger keys name the referral, so a second grant could not post either.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time).
	Clock  models.Clock
	Config Config
	// Directory reads owners and cars (nil: one on DB and Clock).
	Directory *directory.Service
	// Inbox tells both owners of a reward (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Wallet credits points rewards; Coupons issues coupon rewards (a
	// coupon reward without Coupons is paid in points).
	Wallet  *wallet.Service
	Coupons *coupons.Service
}

func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }
func (s *Service) inbox() *inbox.Service         { return s.Inbox.Or(s.DB, s.Clock) }

// NotifyRewarded is the inbox kind telling an owner a referral earned them
// a reward: transactional (about something they did), not marketing.
const NotifyRewarded = outbox.KindReferralRewarded

// rolesStoreReferrals may follow a store's referrals (StoreReferrals,
// ReferralFor); GROUP_ADMIN holds every role.
var rolesStoreReferrals = []auth.Role{auth.RoleCRM, auth.RoleManager}

// RolesStoreReferrals is the list rolesStoreReferrals, copied: a caller
// cannot change the rule.
func RolesStoreReferrals() []auth.Role { return slices.Clone(rolesStoreReferrals) }

// Link is the referral link of a code.
func (s *Service) Link(code string) string {
	base := s.Config.LinkBase
	if base == "" {
		base = DefaultLinkBase
	}
	return base + code
}

// phoneDigest is PhoneDigest under the configured key; without one it
// refuses rather than keep digests anyone could reverse.
func (s *Service) phoneDigest(e164 string) (string, error) {
	if len(s.Config.PhoneKey) == 0 {
		return "", errors.New("referrals: no PhoneKey configured for the digests of erased phones")
	}
	return PhoneDigest(s.Config.PhoneKey, e164), nil
}

func (s *Service) reward() Reward {
	r := s.Config.Reward
	if r.CouponTemplateID == nil && r.Points <= 0 {
		r.Points = DefaultRewardPoints
	}
	return r
}

// CodeOf is the owner's referral code, created on first use: random from
// Alphabet, unique (the unique key decides; a collision draws again), and
// the same ever after. Of concurrent first uses one code is kept.
func (s *Service) CodeOf(ctx context.Context, ownerID uuid.UUID) (string, error) {
	var out string
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		for range 8 {
			var c Code
			err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Take(&c).Error
			if err == nil {
				out = c.Code
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
			code, err := newCode()
			if err != nil {
				return err
			}
			c = Code{OwnerID: ownerID, Code: code, CreatedAt: s.Clock.Now(ctx)}
			if err := s.DB.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
				return err
			}
		}
		return errors.New("referrals: no free code after 8 draws")
	})
	return out, err
}

// SignUp is what a sign-up brings for referrals: the code it was made
// with (empty: none), the device it was made on (empty: unknown) and how.
type SignUp struct {
	Code, DeviceID string
	Via            Via
}

// CheckSignUp validates a sign-up's referral input before the sign-in
// does anything: the code normalized and known, the device id well
// formed. Field names are the sign-in input's ("referralCode",
// "deviceId").
//
// Codes: REFERRAL_CODE_UNKNOWN ("referralCode"), INVALID_ARGUMENT
// ("deviceId").
func (s *Service) CheckSignUp(ctx context.Context, su SignUp) (SignUp, error) {
	var err error
	if su.DeviceID, err = CheckDeviceID("deviceId", su.DeviceID); err != nil {
		return su, err
	}
	if su.Code == "" {
		return su, nil
	}
	code, ok := NormalizeCode(su.Code)
	if !ok {
		return su, ErrUnknown
	}
	su.Code = code
	if _, err := s.referrerOf(ctx, code); err != nil {
		return su, err
	}
	return su, nil
}

// referrerOf is the owner whose code it is.
func (s *Service) referrerOf(ctx context.Context, code string) (uuid.UUID, error) {
	var c Code
	if err := s.DB.Conn(ctx).Where("code = ?", code).Take(&c).Error; err != nil {
		return uuid.Nil, models.NotFoundAs(err, ErrUnknown)
	}
	return c.OwnerID, nil
}

// SignedIn runs in the transaction of an owner's sign-in (checked by
// CheckSignUp): it records the device the owner signed in on and, when the
// sign-in created the owner and brought a code, the referral: PENDING, or
// REFUSED at once when the phone was an erased owner's or the device the
// referrer's or an earlier referred owner's (SignUpRefusal). A code
// brought by an existing owner is ignored: nobody is referred later.
//
// Codes: REFERRAL_CODE_UNKNOWN (the code's owner erased meanwhile).
func (s *Service) SignedIn(ctx context.Context, o *models.Owner, created bool, su SignUp) error {
	return s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if su.DeviceID != "" {
			d := &Device{OwnerID: o.ID, DeviceID: su.DeviceID, CreatedAt: s.Clock.Now(ctx)}
			if err := s.DB.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(d).Error; err != nil {
				return err
			}
		}
		if !created || su.Code == "" {
			return nil
		}
		_, err := s.attribute(ctx, o, su)
		return err
	})
}

// attribute records that o (new) was referred with su.Code.
func (s *Service) attribute(ctx context.Context, o *models.Owner, su SignUp) (*Referral, error) {
	now := s.Clock.Now(ctx)
	referrer, err := s.referrerOf(ctx, su.Code)
	if err != nil {
		return nil, err
	}
	if referrer == o.ID {
		return nil, ErrSelf
	}
	facts, err := s.signUpFacts(ctx, referrer, o, su.DeviceID)
	if err != nil {
		return nil, err
	}
	ro, err := s.directory().Owner(ctx, referrer)
	if err != nil {
		return nil, err
	}
	r := &Referral{ID: models.NewID(), ReferrerID: referrer, ReferredID: o.ID, Code: su.Code, StoreID: ro.HomeStoreID,
		Via: su.Via, DeviceID: su.DeviceID, FriendPhone: maskPhone(o.Phone), Status: Pending, CreatedAt: now, UpdatedAt: now}
	if refusal := SignUpRefusal(facts); refusal != "" {
		r.Status, r.Refusal, r.DecidedAt = Refused, refusal, &now
	}
	if err := s.DB.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(r).Error; err != nil {
		return nil, err
	}
	return r, nil
}

// signUpFacts gathers what SignUpRefusal looks at, in three statements.
func (s *Service) signUpFacts(ctx context.Context, referrer uuid.UUID, o *models.Owner, device string) (SignUpFacts, error) {
	f := SignUpFacts{DeviceID: device}
	conn := s.DB.Conn(ctx)
	digest, err := s.phoneDigest(o.Phone)
	if err != nil {
		return f, err
	}
	var n int64
	if err := conn.Model(&ErasedPhone{}).Where("phone_digest = ?", digest).Count(&n).Error; err != nil {
		return f, err
	}
	f.PhoneErased = n > 0
	if device == "" {
		return f, nil
	}
	if err := conn.Model(&Device{}).Where("owner_id = ?", referrer).Pluck("device_id", &f.ReferrerDevices).Error; err != nil {
		return f, err
	}
	err = conn.Raw(`SELECT device_id FROM referrals WHERE referrer_id = ? AND device_id <> ''
		UNION SELECT d.device_id FROM referral_devices d JOIN referrals r ON r.referred_id = d.owner_id
		WHERE r.referrer_id = ? AND d.owner_id <> ?`, referrer, referrer, o.ID).Scan(&f.EarlierDevices).Error
	return f, err
}

// Qualifying is an event that may reward the owner's referral: a paid
// settlement (RefID the order) or a car registered at delivery (RefID the
// vehicle), at StoreID. Car tells, only when a referral is pending, the
// car's VIN and the owners it had before (the owners of its earlier
// visits).
type Qualifying struct {
	OwnerID uuid.UUID
	Event   Event
	RefID   uuid.UUID
	StoreID uuid.UUID
	Car     func(ctx context.Context) (vin string, pastOwners []uuid.UUID, err error)
}

// Qualify runs in the transaction of a qualifying event (the settlement's,
// the registration's): when the owner has a PENDING referral it is
// decided, under its row lock, by one conditional update from PENDING:
// REFUSED (SAME_CAR, CarRefusal) or REWARDED, and then both owners are
// granted the reward and told, in the same transaction. Of concurrent
// qualifying events one decides; for the others there is nothing pending.
// It returns the referral it decided, or nil.
func (s *Service) Qualify(ctx context.Context, q Qualifying) (*Referral, error) {
	if !models.InTx(ctx) {
		return nil, errors.New("referrals: Qualify outside a transaction")
	}
	var r Referral
	err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("referred_id = ? AND status = ?", q.OwnerID, Pending)).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	vin, past, err := q.Car(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := s.carFacts(ctx, &r, vin, past)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now(ctx)
	store := q.StoreID
	r.StoreID, r.QualifiedBy, r.QualifiedRefID, r.VIN, r.DecidedAt, r.UpdatedAt = &store, q.Event, &q.RefID, vin, &now, now
	r.Status = Rewarded
	if refusal := CarRefusal(facts); refusal != "" {
		r.Status, r.Refusal = Refused, refusal
	} else if err := s.grant(ctx, &r); err != nil {
		return nil, err
	}
	res := s.DB.Conn(ctx).Model(&Referral{}).Where("id = ? AND status = ?", r.ID, Pending).Updates(map[string]any{
		"status": r.Status, "refusal": r.Refusal, "store_id": r.StoreID, "qualified_by": r.QualifiedBy,
		"qualified_ref_id": r.QualifiedRefID, "vin": r.VIN, "reward_kind": r.RewardKind,
		"referrer_points": r.ReferrerPoints, "referred_points": r.ReferredPoints,
		"referrer_coupon_id": r.ReferrerCouponID, "referred_coupon_id": r.ReferredCouponID,
		"decided_at": now, "updated_at": now,
	})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected != 1 {
		// Locked above: only a database that ignores the lock gets here,
		// and the grant must not stand.
		return nil, models.ErrConflict
	}
	if r.Status == Rewarded {
		if err := s.tell(ctx, &r); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// carFacts gathers what CarRefusal looks at, in three statements.
func (s *Service) carFacts(ctx context.Context, r *Referral, vin string, past []uuid.UUID) (CarFacts, error) {
	f := CarFacts{VIN: vin, PastOwners: past, Referrer: r.ReferrerID}
	var earlier []Referral
	if err := s.DB.Conn(ctx).Select("referred_id", "vin").Where("referrer_id = ? AND id <> ?", r.ReferrerID, r.ID).
		Find(&earlier).Error; err != nil {
		return f, err
	}
	for _, e := range earlier {
		f.Earlier = append(f.Earlier, e.ReferredID)
		if e.VIN != "" {
			f.KnownVINs = append(f.KnownVINs, e.VIN)
		}
	}
	cars, err := s.directory().VehiclesOfOwners(ctx, append([]uuid.UUID{r.ReferrerID}, f.Earlier...))
	if err != nil {
		return f, err
	}
	for _, vs := range cars {
		for _, v := range vs {
			f.KnownVINs = append(f.KnownVINs, v.VIN)
		}
	}
	return f, nil
}

// grant gives both owners the reward, in the caller's transaction, and
// records it on r. A coupon that cannot be issued (the template ended, the
// owner holds its limit) is paid as DefaultRewardPoints points instead,
// so a qualifying event never fails for its reward.
func (s *Service) grant(ctx context.Context, r *Referral) error {
	reward := s.reward()
	r.RewardKind = reward.Kind()
	for _, side := range []struct {
		owner  uuid.UUID
		name   string
		points *int64
		coupon **uuid.UUID
	}{
		{r.ReferrerID, "referrer", &r.ReferrerPoints, &r.ReferrerCouponID},
		{r.ReferredID, "referred", &r.ReferredPoints, &r.ReferredCouponID},
	} {
		points := reward.Points
		if reward.CouponTemplateID != nil && s.Coupons != nil {
			c, err := s.Coupons.Issue(ctx, coupons.IssueRequest{TemplateID: *reward.CouponTemplateID, OwnerID: side.owner,
				Source: coupons.SourceReferral})
			if _, refused := models.AsError(err); err != nil && !refused {
				return err
			}
			if err == nil {
				id := c.ID
				*side.coupon = &id
				continue
			}
			points = DefaultRewardPoints
		} else if reward.CouponTemplateID != nil {
			points = DefaultRewardPoints
		}
		if _, err := s.Wallet.Award(ctx, wallet.AwardInput{OwnerID: side.owner, Points: points, StoreID: r.StoreID,
			Key: "referral:" + r.ID.String() + ":" + side.name, Memo: "推荐好友奖励"}); err != nil {
			return fmt.Errorf("referrals: award %s: %w", side.name, err)
		}
		*side.points = points
	}
	return nil
}

// tell writes both owners' notifications of the reward.
func (s *Service) tell(ctx context.Context, r *Referral) error {
	now := s.Clock.Now(ctx)
	for _, n := range []struct {
		owner  uuid.UUID
		side   string
		body   string
		points int64
	}{
		{r.ReferrerID, "referrer", "您推荐的好友 %s 已完成首次消费，推荐奖励%s已发放。", r.ReferrerPoints},
		{r.ReferredID, "referred", "感谢您接受好友推荐，新人奖励%[2]s已发放。", r.ReferredPoints},
	} {
		what := "优惠券"
		if n.points > 0 {
			what = fmt.Sprintf(" %d 积分", n.points)
		}
		body := fmt.Sprintf(n.body, r.FriendPhone, what)
		key := "referral-rewarded:" + r.ID.String() + ":" + n.side
		if _, err := s.inbox().CreateNotification(ctx, &inbox.Notification{
			OwnerID: n.owner, Kind: NotifyRewarded, Title: "推荐奖励已到账", Body: body,
			Link: models.LinkTo(models.RefTo(models.RefReferral, r.ID)), DedupeKey: &key, CreatedAt: now, StoreID: r.StoreID,
		}); err != nil {
			return err
		}
	}
	return nil
}

// RegisterVehicle is directory.Service.RegisterVehicle (its rules, roles
// and codes) that also runs referrals in the registration's transaction: a
// referral code (empty: none) refers the owner the registration creates,
// and the car bought qualifies the owner's pending referral (a car
// purchase: CarPurchase). Nothing is written on a refusal.
//
// Codes, beside RegisterVehicle's: REFERRAL_CODE_UNKNOWN, REFERRAL_SELF
// (the phone is the code's owner's), REFERRAL_OWNER_NOT_NEW (the phone's
// owner exists), all on "referralCode".
func (s *Service) RegisterVehicle(ctx context.Context, actor *auth.Principal, r directory.VehicleRegistration, code string) (*models.Vehicle, *models.Owner, error) {
	su := SignUp{Code: code, Via: ViaRegistration}
	if code != "" && actor != nil && actor.HasAnyRole(directory.RolesRegisterVehicle()...) {
		var err error
		if su, err = s.CheckSignUp(ctx, su); err != nil {
			return nil, nil, err
		}
	}
	r.Then = func(ctx context.Context, o *models.Owner, created bool, v *models.Vehicle) error {
		if su.Code != "" {
			if !created {
				if referrer, err := s.referrerOf(ctx, su.Code); err == nil && referrer == o.ID {
					return ErrSelf
				}
				return ErrOwnerNotNew
			}
			if _, err := s.attribute(ctx, o, su); err != nil {
				return err
			}
		}
		store := o.HomeStoreID
		if v.SellingStoreID != nil {
			store = v.SellingStoreID
		}
		_, err := s.Qualify(ctx, Qualifying{OwnerID: o.ID, Event: CarPurchase, RefID: v.ID, StoreID: deref(store),
			Car: func(context.Context) (string, []uuid.UUID, error) { return v.VIN, nil, nil }})
		return err
	}
	return s.directory().RegisterVehicle(ctx, actor, r)
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}
