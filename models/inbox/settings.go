package inbox

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// CodeLastChannel: a transactional kind must keep at least one channel.
const CodeLastChannel models.Code = "TRANSACTIONAL_NEEDS_CHANNEL"

// OwnerChannels are the channels an owner may choose, in the order they
// are preferred (outbox.Choose).
var OwnerChannels = []string{outbox.ChannelPush, outbox.ChannelWeChat, outbox.ChannelSMS}

// Setting is the channels an owner allows for one kind of message.
type Setting struct {
	Kind     string
	Class    outbox.Class
	Channels []string
}

// SettingRow is a row of notification_settings: the channels an owner chose
// for one kind (kinds never set have none). Privacy exports and erases them.
type SettingRow struct {
	OwnerID   uuid.UUID `gorm:"primaryKey"`
	Kind      string    `gorm:"primaryKey"`
	Channels  string
	UpdatedAt time.Time
}

func (SettingRow) TableName() string { return "notification_settings" }

func splitChannels(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// NotificationSettings is the owner's channels for every kind of message,
// sorted by kind; a kind never set allows every channel. Only the owner.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (another
// owner's).
func (s *Service) NotificationSettings(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID) ([]Setting, error) {
	if err := inboxOf(actor, ownerID); err != nil {
		return nil, err
	}
	var rows []SettingRow
	if err := s.DB.Conn(ctx).Where("owner_id = ?", ownerID).Find(&rows).Error; err != nil {
		return nil, err
	}
	set := map[string][]string{}
	for _, r := range rows {
		set[r.Kind] = splitChannels(r.Channels)
	}
	kinds := outbox.Kinds()
	slices.Sort(kinds)
	out := make([]Setting, 0, len(kinds))
	for _, k := range kinds {
		class, _ := outbox.ClassOf(k)
		ch, ok := set[k]
		if !ok {
			ch = slices.Clone(OwnerChannels)
		}
		out = append(out, Setting{Kind: k, Class: class, Channels: ch})
	}
	return out, nil
}

// UpdateNotificationSettings sets the caller's channels for the kinds
// given (others stay as they are) and returns every setting after. All
// or nothing: one refused setting changes none. Marketing kinds are sent
// only with marketing consent whatever their channels.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), INVALID_ARGUMENT
// ("kind": unknown or twice; "channels": a channel not offered),
// TRANSACTIONAL_NEEDS_CHANNEL ("channels": a transactional kind left
// without a channel).
func (s *Service) UpdateNotificationSettings(ctx context.Context, actor *auth.Principal, in []Setting) ([]Setting, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return nil, models.ErrForbidden
	}
	seen := map[string]bool{}
	for _, st := range in {
		class, ok := outbox.ClassOf(st.Kind)
		if !ok || st.Kind == outbox.KindLoginCode || seen[st.Kind] {
			return nil, models.Invalid("kind", "消息类型无效或重复："+st.Kind, "unknown or repeated kind "+st.Kind)
		}
		seen[st.Kind] = true
		for _, c := range st.Channels {
			if !slices.Contains(OwnerChannels, c) {
				return nil, models.Invalid("channels", "不支持的通知渠道："+c, "channel not offered: "+c)
			}
		}
		if class == outbox.Transactional && len(st.Channels) == 0 {
			return nil, models.E(CodeLastChannel, "服务类消息至少保留一个通知渠道", "a transactional kind keeps at least one channel").On("channels")
		}
	}
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		for _, st := range in {
			ch := slices.Clone(st.Channels)
			slices.Sort(ch)
			ch = slices.Compact(ch)
			row := SettingRow{OwnerID: actor.ID, Kind: st.Kind, Channels: strings.Join(ch, ","), UpdatedAt: now}
			err := s.DB.Conn(ctx).Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "owner_id"}, {Name: "kind"}},
				DoUpdates: clause.AssignmentColumns([]string{"channels", "updated_at"}),
			}).Create(&row).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.NotificationSettings(ctx, actor, actor.ID)
}

// setting names an owner's setting for a kind.
type setting struct {
	owner uuid.UUID
	kind  string
}

// chosenAll is the channels each notification's owner allows for its
// kind, in one statement; a setting not in the map: every channel.
func (s *Service) chosenAll(ctx context.Context, rs []*routed) (map[setting][]string, error) {
	owners, kinds := make([]uuid.UUID, 0, len(rs)), []string{}
	for _, r := range rs {
		owners = append(owners, r.n.OwnerID)
		if !slices.Contains(kinds, r.n.Kind) {
			kinds = append(kinds, r.n.Kind)
		}
	}
	var rows []SettingRow
	if err := s.DB.Conn(ctx).Where("owner_id IN ? AND kind IN ?", owners, kinds).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[setting][]string, len(rows))
	for _, row := range rows {
		out[setting{row.OwnerID, row.Kind}] = splitChannels(row.Channels)
	}
	return out, nil
}
