package inbox

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// MaxMarkRead bounds the ids of one MarkNotificationsRead.
const MaxMarkRead = 100

var errInboxNotFound = models.E(models.CodeNotFound, "未找到该车主的消息", "inbox not found")

// CreateNotification puts n in its owner's inbox, in the transaction of ctx
// if there is one. A notification with a DedupeKey the owner already has is
// skipped (created=false), so a notification that must exist once per thing
// (a reminder per due item) cannot be created twice, even concurrently. An
// empty ID or CreatedAt is filled in. Kind and Title are required. With
// an Outbox, the notification's delivery is written in the same
// transaction (see deliver): no capability enqueues owner messages itself.
func (s *Service) CreateNotification(ctx context.Context, n *Notification) (created bool, err error) {
	if strings.TrimSpace(n.Kind) == "" || strings.TrimSpace(n.Title) == "" {
		return false, models.E(models.CodeInvalidArgument, "消息类型和标题不能为空", "a notification needs a kind and a title")
	}
	if n.ID == uuid.Nil {
		n.ID = models.NewID()
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.Clock.Now(ctx)
	}
	if s.Outbox == nil {
		return s.insert(ctx, n)
	}
	err = s.DB.WithTx(ctx, func(ctx context.Context) error {
		if created, err = s.insert(ctx, n); err != nil || !created {
			return err
		}
		return s.deliver(ctx, n)
	})
	return created, err
}

// CreateNotifications is CreateNotification for many notifications at
// once (a campaign's batch), in the transaction of ctx or its own: one
// INSERT of them all, one read of which were new (a DedupeKey the owner
// already had, or had earlier in the same batch, is skipped), then, with an
// Outbox, the new ones' deliveries as CreateNotification writes them, at a
// fixed number of statements for the batch (deliverAll). It returns the
// notifications created, in the order given.
func (s *Service) CreateNotifications(ctx context.Context, ns []*Notification) ([]*Notification, error) {
	if len(ns) == 0 {
		return nil, nil
	}
	ids := make([]uuid.UUID, len(ns))
	for i, n := range ns {
		if strings.TrimSpace(n.Kind) == "" || strings.TrimSpace(n.Title) == "" {
			return nil, models.E(models.CodeInvalidArgument, "消息类型和标题不能为空", "a notification needs a kind and a title")
		}
		if n.ID == uuid.Nil {
			n.ID = models.NewID()
		}
		if n.CreatedAt.IsZero() {
			n.CreatedAt = s.Clock.Now(ctx)
		}
		ids[i] = n.ID
	}
	var created []*Notification
	err := s.DB.WithTx(ctx, func(ctx context.Context) error {
		created = created[:0]
		conn := s.DB.Conn(ctx)
		if err := conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "owner_id"}, {Name: "dedupe_key"}}, DoNothing: true}).
			Create(&ns).Error; err != nil {
			return err
		}
		// The rows with these ids are the new ones: a skipped notification
		// left the earlier row, with its own id.
		var fresh []uuid.UUID
		if err := conn.Model(&Notification{}).Where("id IN ?", ids).Pluck("id", &fresh).Error; err != nil {
			return err
		}
		isNew := make(map[uuid.UUID]bool, len(fresh))
		for _, id := range fresh {
			isNew[id] = true
		}
		for _, n := range ns {
			if isNew[n.ID] {
				created = append(created, n)
			}
		}
		if s.Outbox == nil {
			return nil
		}
		return s.deliverAll(ctx, created)
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

func (s *Service) insert(ctx context.Context, n *Notification) (bool, error) {
	res := s.DB.Conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "owner_id"}, {Name: "dedupe_key"}},
		DoNothing: true,
	}).Create(n)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// inboxOf checks the actor may read ownerID's inbox: only the owner.
func inboxOf(actor *auth.Principal, ownerID uuid.UUID) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.IsOwner():
		return models.ErrForbidden
	case actor.ID != ownerID:
		return errInboxNotFound
	}
	return nil
}

// Notifications reads one page of an owner's inbox, newest first (p.Desc is
// implied), optionally only the unread ones, and reports whether more
// follow. Only the owner reads their inbox.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (another
// owner's inbox).
func (s *Service) Notifications(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, p models.Page, unreadOnly bool) ([]*Notification, bool, error) {
	if err := inboxOf(actor, ownerID); err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Model(&Notification{}).Where("owner_id = ?", ownerID)
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	p.Desc = true
	return models.Fetch[*Notification](q, models.ByID("id"), p)
}

// UnreadNotificationCount counts an owner's unread notifications. Only the
// owner.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND.
func (s *Service) UnreadNotificationCount(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID) (int, error) {
	if err := inboxOf(actor, ownerID); err != nil {
		return 0, err
	}
	return s.unread(ctx, ownerID)
}

func (s *Service) unread(ctx context.Context, ownerID uuid.UUID) (int, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&Notification{}).Where("owner_id = ? AND read_at IS NULL", ownerID).Count(&n).Error
	return int(n), err
}

// MarkNotificationsRead marks the caller's notifications read: those with
// the given ids, or all of them. Ids of other owners' notifications (or of
// none) are ignored silently, so they reveal nothing; marking a read one
// again keeps its first read time. Returns the caller's unread count after.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), INVALID_ARGUMENT
// ("ids": neither ids nor all, or more than 100 ids).
func (s *Service) MarkNotificationsRead(ctx context.Context, actor *auth.Principal, ids []uuid.UUID, all bool) (unread int, err error) {
	if actor == nil {
		return 0, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return 0, models.ErrForbidden
	}
	if !all && len(ids) == 0 {
		return 0, models.Invalid("ids", "请选择要标为已读的消息", "give ids or set all")
	}
	if !all && len(ids) > MaxMarkRead {
		return 0, models.Ef(models.CodeInvalidArgument, "一次最多标记 100 条消息", "at most %d ids", MaxMarkRead).On("ids")
	}
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		q := s.DB.Conn(ctx).Model(&Notification{}).Where("owner_id = ? AND read_at IS NULL", actor.ID)
		if !all {
			q = q.Where("id IN ?", ids)
		}
		if err := q.Update("read_at", s.Clock.Now(ctx)).Error; err != nil {
			return err
		}
		unread, err = s.unread(ctx, actor.ID)
		return err
	})
	if err != nil {
		return 0, err
	}
	return unread, nil
}

// DedupeKey names a notification that must exist once: its owner and its
// dedupe key.
type DedupeKey struct {
	OwnerID uuid.UUID
	Key     string
}

// ExistingDedupeKeys answers which of keys their owners already have in
// their inbox, in one statement, so that a batch (a day's reminders) skips
// them without one read per notification. Not an owner-facing read: the
// caller is the capability that writes the notifications.
func (s *Service) ExistingDedupeKeys(ctx context.Context, keys []DedupeKey) (map[DedupeKey]bool, error) {
	have := map[DedupeKey]bool{}
	if len(keys) == 0 {
		return have, nil
	}
	owners := make([]uuid.UUID, 0, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		owners = append(owners, k.OwnerID)
		names = append(names, k.Key)
	}
	var rows []struct {
		OwnerID   uuid.UUID
		DedupeKey string
	}
	err := s.DB.Conn(ctx).Model(&Notification{}).Select("owner_id", "dedupe_key").
		Where("owner_id IN ? AND dedupe_key IN ?", owners, names).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	asked := make(map[DedupeKey]bool, len(keys))
	for _, k := range keys {
		asked[k] = true
	}
	for _, r := range rows {
		if k := (DedupeKey{r.OwnerID, r.DedupeKey}); asked[k] {
			have[k] = true
		}
	}
	return have, nil
}

// MarkReadWhenSent marks the owners' unread notifications read at the time
// each was sent, in one statement: loaded history (the demo data) whose
// owners read their past messages back then. Not an owner-facing
// operation (MarkNotificationsRead is).
func (s *Service) MarkReadWhenSent(ctx context.Context, ownerIDs []uuid.UUID) error {
	if len(ownerIDs) == 0 {
		return nil
	}
	return s.DB.Conn(ctx).Model(&Notification{}).Where("owner_id IN ? AND read_at IS NULL", ownerIDs).
		Update("read_at", gorm.Expr("created_at")).Error
}
