// Package push is the owner app's push notifications: the registry of an
// owner's devices and the outbox channel (ChannelPush) that sends to them
// through APNs (iOS) or JPush (Android phones sold in mainland China, which
// have no Google services). docs/decisions/0005-push-providers.md says why
// these providers.
package push

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// Platforms and providers of a device.
const (
	PlatformIOS     = "IOS"
	PlatformAndroid = "ANDROID"
	ProviderAPNs    = "APNS"
	ProviderJPush   = "JPUSH"
)

// MaxDevicesPerOwner bounds an owner's devices: registering one more drops
// the one registered longest ago.
const MaxDevicesPerOwner = 10

// maxTokenLen bounds a token of any provider (an APNs token is 64 hex
// characters today, Apple documents it as of variable length; a JPush
// registration id is about 20).
const maxTokenLen = 200

var (
	apnsToken  = regexp.MustCompile(`^[0-9a-f]{64,200}$`)
	jpushToken = regexp.MustCompile(`^[0-9A-Za-z]{8,64}$`)
)

// Device is an installation of the owner app that receives push (a row of
// devices). Its token belongs to one owner at a time.
type Device struct {
	ID           uuid.UUID `gorm:"primaryKey"`
	OwnerID      uuid.UUID
	Platform     string
	Provider     string
	Token        string
	RegisteredAt time.Time
	LastSeenAt   time.Time
}

// TableName names the devices table.
func (Device) TableName() string { return "devices" }

// Registry keeps the owners' devices.
type Registry struct {
	DB *models.DB
	// Providers are the providers this server sends through: LiveDevices
	// leaves out the devices of the others, which nothing could reach
	// (nil: every provider).
	Providers []string
}

var errTokenFormat = models.E(models.CodeInvalidArgument, "设备令牌格式不正确", "the device token is not in its platform's format").On("token")

// Register records token as a device of owner on platform, sent through
// provider ("" means the platform's: APNS for iOS, JPUSH for Android). A
// token already registered moves to owner (the phone changed hands or
// accounts); registering it again for the same owner refreshes it. An
// owner past MaxDevicesPerOwner loses the devices registered longest ago.
func (r *Registry) Register(ctx context.Context, owner uuid.UUID, platform, token, provider string) (*Device, error) {
	switch {
	case platform == PlatformIOS && (provider == "" || provider == ProviderAPNs):
		provider = ProviderAPNs
		if !apnsToken.MatchString(token) {
			return nil, errTokenFormat
		}
	case platform == PlatformAndroid && (provider == "" || provider == ProviderJPush):
		provider = ProviderJPush
		if !jpushToken.MatchString(token) {
			return nil, errTokenFormat
		}
	case platform != PlatformIOS && platform != PlatformAndroid:
		return nil, models.E(models.CodeInvalidArgument, "平台无效", "unknown platform").On("platform")
	default:
		return nil, models.Ef(models.CodeInvalidArgument, "该平台不支持此推送服务", "provider %q does not serve %s", provider, platform).On("provider")
	}
	if len(token) > maxTokenLen {
		return nil, errTokenFormat
	}
	var d Device
	err := r.DB.WithTx(ctx, func(ctx context.Context) error {
		conn := r.DB.Conn(ctx)
		now := models.Clock(nil).Now(ctx)
		var old Device
		err := conn.Take(&old, "token = ?", token).Error
		switch {
		case err == nil && old.OwnerID == owner && old.Provider == provider:
			if err := conn.Model(&old).Updates(map[string]any{"platform": platform, "last_seen_at": now}).Error; err != nil {
				return err
			}
			old.LastSeenAt = now
			d = old
			return nil
		case err == nil:
			// Another owner's (or another provider's) token: a new row, so
			// that deliveries addressed to the old one are not sent to it.
			if err := conn.Delete(&Device{}, "id = ?", old.ID).Error; err != nil {
				return err
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		d = Device{ID: models.NewID(), OwnerID: owner, Platform: platform, Provider: provider, Token: token,
			RegisteredAt: now, LastSeenAt: now}
		if err := conn.Create(&d).Error; err != nil {
			return err
		}
		var ids []uuid.UUID
		if err := conn.Model(&Device{}).Where("owner_id = ?", owner).
			Order("registered_at DESC, id DESC").Offset(MaxDevicesPerOwner).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) > 0 {
			return conn.Delete(&Device{}, "id IN ?", ids).Error
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("push: register device: %w", err)
	}
	return &d, nil
}

// owner is who's id if who is an owner; only an owner has devices.
func owner(who *auth.Principal) (uuid.UUID, error) {
	if !who.IsOwner() {
		return uuid.Nil, models.ErrForbidden
	}
	return who.ID, nil
}

// RegisterMine is Register for the signed-in owner who.
func (r *Registry) RegisterMine(ctx context.Context, who *auth.Principal, platform, token, provider string) (*Device, error) {
	id, err := owner(who)
	if err != nil {
		return nil, err
	}
	return r.Register(ctx, id, platform, token, provider)
}

// UnregisterMine is Unregister for the signed-in owner who.
func (r *Registry) UnregisterMine(ctx context.Context, who *auth.Principal, token string) (bool, error) {
	id, err := owner(who)
	if err != nil {
		return false, err
	}
	return r.Unregister(ctx, id, token)
}

// DevicesOf lists owner's devices for who: only the owner may see them.
func (r *Registry) DevicesOf(ctx context.Context, who *auth.Principal, ownerID uuid.UUID) ([]Device, error) {
	id, err := owner(who)
	if err != nil {
		return nil, err
	}
	if id != ownerID {
		return nil, models.ErrForbidden
	}
	return r.Devices(ctx, id)
}

// Unregister removes owner's device with token. It reports whether there
// was one: another owner's token is not touched, and is not told apart
// from an unknown one.
func (r *Registry) Unregister(ctx context.Context, owner uuid.UUID, token string) (bool, error) {
	res := r.DB.Conn(ctx).Delete(&Device{}, "owner_id = ? AND token = ?", owner, token)
	if res.Error != nil {
		return false, fmt.Errorf("push: unregister device: %w", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// Devices lists owner's devices, the latest registered first.
func (r *Registry) Devices(ctx context.Context, owner uuid.UUID) ([]Device, error) {
	var ds []Device
	if err := r.DB.Conn(ctx).Where("owner_id = ?", owner).Order("registered_at DESC, id DESC").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("push: devices: %w", err)
	}
	return ds, nil
}

// LiveWithin is how recently a device must have been seen (registered or
// registered again: the app does so at every start) to be sent push. A
// device unseen longer is likely an app removed or a phone set aside,
// which neither APNs nor JPush tells at once: its owner's messages go on
// the next channel instead (docs/notifications.md).
const LiveWithin = 30 * 24 * time.Hour

// LiveDevices lists the ids of the live devices of each of owners at now
// (seen within LiveWithin; a device a provider reported dead is gone), the
// latest seen first, in one statement. An owner with none has no entry.
func (r *Registry) LiveDevices(ctx context.Context, owners []uuid.UUID, now time.Time) (map[uuid.UUID][]uuid.UUID, error) {
	out := map[uuid.UUID][]uuid.UUID{}
	if len(owners) == 0 {
		return out, nil
	}
	var ds []Device
	q := r.DB.Conn(ctx).Select("id", "owner_id").Where("owner_id IN ? AND last_seen_at > ?", owners, now.Add(-LiveWithin))
	if r.Providers != nil {
		q = q.Where("provider IN ?", r.Providers)
	}
	err := q.Order("last_seen_at DESC, id DESC").Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("push: live devices: %w", err)
	}
	for _, d := range ds {
		out[d.OwnerID] = append(out[d.OwnerID], d.ID)
	}
	return out, nil
}

// drop removes the device a provider reported dead.
func (r *Registry) drop(ctx context.Context, id uuid.UUID) error {
	return r.DB.Conn(ctx).Delete(&Device{}, "id = ?", id).Error
}

// exported is a device in an owner's data export (without its token, which
// only addresses the installation).
type exported struct {
	Platform     string    `json:"platform"`
	Provider     string    `json:"provider"`
	RegisteredAt time.Time `json:"registeredAt"`
	LastSeenAt   time.Time `json:"lastSeenAt"`
}

// ExportOwner is the devices section of an owner's data export.
func (r *Registry) ExportOwner(ctx context.Context, owner uuid.UUID) (any, error) {
	ds, err := r.Devices(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]exported, len(ds))
	for i, d := range ds {
		out[i] = exported{Platform: d.Platform, Provider: d.Provider, RegisteredAt: d.RegisteredAt, LastSeenAt: d.LastSeenAt}
	}
	return out, nil
}

// EraseOwner removes an owner's devices when the account is deleted.
func (r *Registry) EraseOwner(ctx context.Context, owner uuid.UUID) error {
	return r.DB.Conn(ctx).Delete(&Device{}, "owner_id = ?", owner).Error
}
