package wechat

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/outbox"
)

// MaxPermissions caps an owner's stored permissions for one template:
// accepting it more often than this adds nothing.
const MaxPermissions = 50

// maxAccepted bounds the template ids of one acceptance (the mini-program
// asks for at most 3 at a time).
const maxAccepted = 20

// Refusal codes of subscriptions.
const (
	CodeWeChatNotBound      models.Code = "WECHAT_NOT_BOUND"
	CodeWeChatNotConfigured models.Code = "WECHAT_NOT_CONFIGURED"
)

// Errors of Accept.
var (
	ErrNotBound = models.E(CodeWeChatNotBound,
		"请先用微信登录小程序并绑定手机号", "sign in with WeChat in the mini-program first: no WeChat account is bound to you")
	ErrNotConfigured = models.E(CodeWeChatNotConfigured,
		"暂未开通微信订阅消息", "WeChat subscription messages are not set up on this server")
	errUnknownTemplate = models.E(models.CodeInvalidArgument,
		"订阅消息模板无效", "not a subscription message template of this mini-program").On("templateIds")
	errNoTemplates = models.E(models.CodeInvalidArgument,
		"请至少选择一个订阅消息模板", "give between 1 and 20 template ids").On("templateIds")
)

// Subscription is an owner's permissions left for one template (a row of
// wechat_subscriptions).
type Subscription struct {
	OwnerID    uuid.UUID `gorm:"primaryKey"`
	TemplateID string    `gorm:"primaryKey"`
	Remaining  int
	UpdatedAt  time.Time
}

// TableName names the subscriptions table.
func (Subscription) TableName() string { return "wechat_subscriptions" }

// Permission is what an owner has left for a kind of message.
type Permission struct {
	Kind       string
	TemplateID string
	Remaining  int
}

// Accept records that the signed-in owner who accepted the templates ids in
// the mini-program (wx.requestSubscribeMessage): one more permission for
// each (an id given twice counts once), up to MaxPermissions. It returns
// the owner's permissions for every configured kind.
//
// Refusals, with nothing changed: FORBIDDEN (not an owner),
// WECHAT_NOT_CONFIGURED, INVALID_ARGUMENT (field templateIds: none, more
// than 20, or an id that is no configured template), WECHAT_NOT_BOUND (no
// WeChat account bound to the owner: no message could reach them).
func (s *Service) Accept(ctx context.Context, who *auth.Principal, ids []string) ([]Permission, error) {
	if who == nil || !who.IsOwner() {
		return nil, models.ErrForbidden
	}
	if !s.Configured() {
		return nil, ErrNotConfigured
	}
	if len(ids) == 0 || len(ids) > maxAccepted {
		return nil, errNoTemplates
	}
	known := map[string]bool{}
	for _, t := range s.Config.Templates {
		known[t.ID] = true
	}
	accepted := map[string]bool{}
	for _, id := range ids {
		if !known[id] {
			return nil, errUnknownTemplate
		}
		accepted[id] = true
	}
	err := s.DB.WithTx(ctx, func(ctx context.Context) error {
		o, err := s.Directory.Owner(ctx, who.ID)
		if err != nil {
			return err
		}
		if o.WeChatOpenID == nil || *o.WeChatOpenID == "" {
			return ErrNotBound
		}
		now := s.now(ctx)
		conn := s.DB.Conn(ctx)
		// In one order, so that two acceptances by one owner cannot lock
		// each other's rows in opposite orders.
		for _, id := range slices.Sorted(maps.Keys(accepted)) {
			err := conn.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "owner_id"}, {Name: "template_id"}},
				DoUpdates: clause.Assignments(map[string]any{
					"remaining":  gorm.Expr("CASE WHEN wechat_subscriptions.remaining < ? THEN wechat_subscriptions.remaining + 1 ELSE ? END", MaxPermissions, MaxPermissions),
					"updated_at": now,
				}),
			}).Create(&Subscription{OwnerID: o.ID, TemplateID: id, Remaining: 1, UpdatedAt: now}).Error
			if err != nil {
				return fmt.Errorf("wechat: accept template: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Permissions(ctx, who.ID)
}

// Permissions lists owner's permissions left for every configured kind.
func (s *Service) Permissions(ctx context.Context, owner uuid.UUID) ([]Permission, error) {
	var subs []Subscription
	if err := s.DB.Conn(ctx).Where("owner_id = ?", owner).Find(&subs).Error; err != nil {
		return nil, fmt.Errorf("wechat: permissions: %w", err)
	}
	left := map[string]int{}
	for _, sub := range subs {
		left[sub.TemplateID] = sub.Remaining
	}
	var out []Permission
	for _, t := range s.Templates() {
		out = append(out, Permission{Kind: t.Kind, TemplateID: t.ID, Remaining: left[t.ID]})
	}
	return out, nil
}

// Reach reports whether a message of kind may go to owner by WeChat: the
// channel is configured for the kind, the owner's WeChat account is bound
// and has a permission left for the kind's template. Nil s: never.
func (s *Service) Reach(ctx context.Context, owner *models.Owner, kind string) (bool, error) {
	with, err := s.ReachAll(ctx, []*models.Owner{owner}, kind)
	return with[owner.ID], err
}

// ReachAll is Reach for many owners and one kind (a batch of messages), in
// one statement: the owners of those given that a message of kind may
// reach by WeChat.
func (s *Service) ReachAll(ctx context.Context, owners []*models.Owner, kind string) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	t, ok := s.template(kind)
	if !ok {
		return out, nil
	}
	var bound []uuid.UUID
	for _, o := range owners {
		if o.WeChatOpenID != nil && *o.WeChatOpenID != "" {
			bound = append(bound, o.ID)
		}
	}
	if len(bound) == 0 {
		return out, nil
	}
	var with []uuid.UUID
	err := s.DB.Conn(ctx).Model(&Subscription{}).
		Where("owner_id IN ? AND template_id = ? AND remaining > 0", bound, t.ID).Pluck("owner_id", &with).Error
	if err != nil {
		return nil, fmt.Errorf("wechat: permission: %w", err)
	}
	for _, id := range with {
		out[id] = true
	}
	return out, nil
}

// Take spends one of owner's permissions for kind's template, in the
// transaction in ctx, for a message outbox.Choose sent to WeChat with r.
// It returns outbox.ChannelWeChat when it took one, and otherwise (another
// message took the last one meanwhile) the channel Choose picks without
// WeChat. TakeAll locks the row only while it has one left (remaining >
// 0), so concurrent messages never take more than there are.
func (s *Service) Take(ctx context.Context, owner uuid.UUID, kind string, r outbox.Reach) (string, error) {
	taken, err := s.TakeAll(ctx, []uuid.UUID{owner}, kind)
	if err != nil {
		return "", err
	}
	if taken[owner] {
		return outbox.ChannelWeChat, nil
	}
	r.WeChatPermission = false
	return outbox.Choose(kind, r), nil
}

// TakeAll is Take for many owners (each once) and one kind, in the
// transaction in ctx: it locks the owners' permission rows that have one
// left, in owner order, and spends one of each, in two statements. It
// returns the owners whose permission it took; for the others (another
// message took the last one meanwhile) the caller chooses again without
// WeChat. Locked first, the rows cannot be taken below zero by concurrent
// messages.
func (s *Service) TakeAll(ctx context.Context, owners []uuid.UUID, kind string) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	t, ok := s.template(kind)
	if !ok || len(owners) == 0 {
		return out, nil
	}
	conn := s.DB.Conn(ctx)
	var held []uuid.UUID
	q := conn.Model(&Subscription{}).Where("owner_id IN ? AND template_id = ? AND remaining > 0", owners, t.ID).Order("owner_id")
	if err := s.DB.ForUpdate(q).Pluck("owner_id", &held).Error; err != nil {
		return nil, fmt.Errorf("wechat: take permission: %w", err)
	}
	if len(held) == 0 {
		return out, nil
	}
	if err := conn.Model(&Subscription{}).Where("owner_id IN ? AND template_id = ?", held, t.ID).
		Updates(map[string]any{"remaining": gorm.Expr("remaining - 1"), "updated_at": s.now(ctx)}).Error; err != nil {
		return nil, fmt.Errorf("wechat: take permission: %w", err)
	}
	for _, id := range held {
		out[id] = true
	}
	return out, nil
}

// revoke zeroes owner's permissions for template: WeChat says the owner has
// none (refused, or turned the template off).
func (s *Service) revoke(ctx context.Context, owner uuid.UUID, template string) error {
	return s.DB.Conn(ctx).Model(&Subscription{}).Where("owner_id = ? AND template_id = ?", owner, template).
		Updates(map[string]any{"remaining": 0, "updated_at": s.now(ctx)}).Error
}

// exported is a subscription in an owner's data export.
type exported struct {
	TemplateID string    `json:"templateId"`
	Remaining  int       `json:"remaining"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ExportOwner is the WeChat subscriptions section of an owner's data export.
func (s *Service) ExportOwner(ctx context.Context, owner uuid.UUID) (any, error) {
	var subs []Subscription
	if err := s.DB.Conn(ctx).Where("owner_id = ?", owner).Order("template_id").Find(&subs).Error; err != nil {
		return nil, fmt.Errorf("wechat: export: %w", err)
	}
	out := make([]exported, len(subs))
	for i, sub := range subs {
		out[i] = exported{TemplateID: sub.TemplateID, Remaining: sub.Remaining, UpdatedAt: sub.UpdatedAt}
	}
	return out, nil
}

// EraseOwner removes an owner's subscriptions when the account is deleted.
func (s *Service) EraseOwner(ctx context.Context, owner uuid.UUID) error {
	return s.DB.Conn(ctx).Delete(&Subscription{}, "owner_id = ?", owner).Error
}
