package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/inbox"
)

func (w *world) notify(o *models.Owner, kind, dedupe string) *inbox.Notification {
	w.T.Helper()
	n := &inbox.Notification{OwnerID: o.ID, Kind: kind, Title: "标题 " + kind, Body: "内容", Link: "UmVwYWlyT3JkZXI6eA"}
	if dedupe != "" {
		n.DedupeKey = &dedupe
	}
	created, err := w.inbox.CreateNotification(w.Ctx, n)
	must(w.T, err)
	if !created {
		w.T.Fatalf("notification %s/%s not created", kind, dedupe)
	}
	return n
}

func TestCreateNotification(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.Owner(1, "张三", w.SZ), w.Owner(2, "李四", w.SZ)
	n := w.notify(a, "APPROVAL_NEEDED", "approval:x:2")
	if n.ID == uuid.Nil || n.CreatedAt.IsZero() {
		t.Fatalf("created %+v", n)
	}
	// Once per dedupe key and owner.
	created, err := w.inbox.CreateNotification(w.Ctx, &inbox.Notification{OwnerID: a.ID, Kind: "APPROVAL_NEEDED", Title: "again", DedupeKey: ptr("approval:x:2")})
	must(t, err)
	if created {
		t.Error("a duplicate dedupe key created a second notification")
	}
	w.notify(b, "APPROVAL_NEEDED", "approval:x:2") // another owner's inbox
	w.notify(a, "NEWS", "")                        // no key: never deduplicated
	w.notify(a, "NEWS", "")
	if n := w.Count(&inbox.Notification{}); n != 4 {
		t.Fatalf("%d notifications; want 4", n)
	}
	_, err = w.inbox.CreateNotification(w.Ctx, &inbox.Notification{OwnerID: a.ID, Kind: " ", Title: "x"})
	wantCode(t, err, models.CodeInvalidArgument, "")

	// In the caller's transaction: gone with its rollback.
	boom := errors.New("boom")
	err = w.DB.WithTx(w.Ctx, func(ctx context.Context) error {
		if _, err := w.inbox.CreateNotification(ctx, &inbox.Notification{OwnerID: a.ID, Kind: "NEWS", Title: "rolled back"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || w.Count(&inbox.Notification{}) != 4 {
		t.Fatalf("rollback: %v, %d rows", err, w.Count(&inbox.Notification{}))
	}

	// Concurrent creates of one key: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := w.inbox.CreateNotification(w.Ctx, &inbox.Notification{OwnerID: b.ID, Kind: "REMINDER", Title: "保养到期", DedupeKey: ptr("due:v1:2026-12")})
			if err != nil {
				t.Error(err)
				return
			}
			if created {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent creates won; want 1", wins)
	}
}

func TestInbox(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.Owner(1, "张三", w.SZ), w.Owner(2, "李四", w.SZ)
	me, other := ownerPrincipal(a), ownerPrincipal(b)
	var mine []*inbox.Notification
	for i := range 5 {
		mine = append(mine, w.notify(a, "NEWS", fmt.Sprintf("n%d", i)))
		time.Sleep(time.Millisecond)
	}
	theirs := w.notify(b, "NEWS", "n0")

	page, more, err := w.inbox.Notifications(w.Ctx, me, a.ID, models.Page{First: 2}, false)
	must(t, err)
	if len(page) != 2 || !more || page[0].ID != mine[4].ID || page[1].ID != mine[3].ID {
		t.Fatalf("first page %v, more %v", page, more)
	}
	page, more, err = w.inbox.Notifications(w.Ctx, me, a.ID, models.Page{First: 5, After: models.Cursor{ID: page[1].ID}}, false)
	must(t, err)
	if len(page) != 3 || more || page[0].ID != mine[2].ID || page[2].ID != mine[0].ID {
		t.Fatalf("second page %v, more %v", page, more)
	}
	n, err := w.inbox.UnreadNotificationCount(w.Ctx, me, a.ID)
	must(t, err)
	if n != 5 {
		t.Fatalf("unread %d", n)
	}

	// Another owner's inbox is not there; staff have no inbox.
	_, _, err = w.inbox.Notifications(w.Ctx, other, a.ID, models.Page{First: 5}, false)
	wantCode(t, err, models.CodeNotFound, "")
	_, err = w.inbox.UnreadNotificationCount(w.Ctx, other, a.ID)
	wantCode(t, err, models.CodeNotFound, "")
	_, _, err = w.inbox.Notifications(w.Ctx, w.SZCRM, a.ID, models.Page{First: 5}, false)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = w.inbox.UnreadNotificationCount(w.Ctx, nil, a.ID)
	wantCode(t, err, models.CodeUnauthenticated, "")

	// Marking read: only the caller's own; others' ids are ignored.
	unread, err := w.inbox.MarkNotificationsRead(w.Ctx, me, []uuid.UUID{mine[0].ID, mine[1].ID, theirs.ID, uuid.New()}, false)
	must(t, err)
	if unread != 3 {
		t.Fatalf("unread after marking two = %d", unread)
	}
	if n, _ := w.inbox.UnreadNotificationCount(w.Ctx, other, b.ID); n != 1 {
		t.Fatalf("the other owner's notification was marked read (%d unread)", n)
	}
	var first inbox.Notification
	must(t, w.DB.Conn(w.Ctx).Where("id = ?", mine[0].ID).Take(&first).Error)
	if first.ReadAt == nil {
		t.Fatal("no read time")
	}
	page, _, err = w.inbox.Notifications(w.Ctx, me, a.ID, models.Page{First: 10}, true)
	must(t, err)
	if len(page) != 3 || page[0].ID != mine[4].ID || page[2].ID != mine[2].ID {
		t.Fatalf("unread only %v", page)
	}
	time.Sleep(2 * time.Millisecond)
	unread, err = w.inbox.MarkNotificationsRead(w.Ctx, me, nil, true)
	must(t, err)
	if unread != 0 {
		t.Fatalf("unread after all = %d", unread)
	}
	var again inbox.Notification
	must(t, w.DB.Conn(w.Ctx).Where("id = ?", mine[0].ID).Take(&again).Error)
	if !again.ReadAt.Equal(*first.ReadAt) {
		t.Errorf("marking all moved the first read time %v -> %v", first.ReadAt, again.ReadAt)
	}
	if n, _ := w.inbox.UnreadNotificationCount(w.Ctx, other, b.ID); n != 1 {
		t.Fatalf("all marked another owner's notification (%d unread)", n)
	}

	_, err = w.inbox.MarkNotificationsRead(w.Ctx, me, nil, false)
	wantCode(t, err, models.CodeInvalidArgument, "ids")
	many := make([]uuid.UUID, inbox.MaxMarkRead+1)
	_, err = w.inbox.MarkNotificationsRead(w.Ctx, me, many, false)
	wantCode(t, err, models.CodeInvalidArgument, "ids")
	_, err = w.inbox.MarkNotificationsRead(w.Ctx, w.SZManager, []uuid.UUID{theirs.ID}, false)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = w.inbox.MarkNotificationsRead(w.Ctx, nil, nil, true)
	wantCode(t, err, models.CodeUnauthenticated, "")
}

// TestExistingDedupeKeys: the batch read answers exactly the pairs (owner,
// key) the inboxes hold, not a key another owner has, in one statement.
func TestExistingDedupeKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.Owner(1, "张三", w.SZ), w.Owner(2, "李四", w.SZ)
	w.notify(a, "REMINDER", "k1")
	w.notify(b, "REMINDER", "k2")
	w.notify(a, "NEWS", "")
	ask := []inbox.DedupeKey{{OwnerID: a.ID, Key: "k1"}, {OwnerID: a.ID, Key: "k2"}, {OwnerID: b.ID, Key: "k1"},
		{OwnerID: b.ID, Key: "k2"}, {OwnerID: b.ID, Key: "k3"}}
	before := w.DB.Statements()
	have, err := w.inbox.ExistingDedupeKeys(w.Ctx, ask)
	must(t, err)
	if n := w.DB.Statements() - before; n != 1 {
		t.Errorf("%d statements; want 1", n)
	}
	want := map[inbox.DedupeKey]bool{{OwnerID: a.ID, Key: "k1"}: true, {OwnerID: b.ID, Key: "k2"}: true}
	if len(have) != len(want) {
		t.Fatalf("have %v; want %v", have, want)
	}
	for k := range want {
		if !have[k] {
			t.Errorf("missing %v in %v", k, have)
		}
	}
	none, err := w.inbox.ExistingDedupeKeys(w.Ctx, nil)
	must(t, err)
	if len(none) != 0 {
		t.Errorf("no keys asked: %v", none)
	}
}

func TestCreateNotifications(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a, b := w.Owner(1, "张三", w.SZ), w.Owner(2, "李四", w.SZ)
	w.notify(b, "CAMPAIGN_INVITATION", "campaign:old")
	batch := func() []*inbox.Notification {
		return []*inbox.Notification{
			{OwnerID: a.ID, Kind: "CAMPAIGN_INVITATION", Title: "新", DedupeKey: ptr("campaign:new")},
			{OwnerID: b.ID, Kind: "CAMPAIGN_INVITATION", Title: "旧", DedupeKey: ptr("campaign:old")}, // b has it
			{OwnerID: b.ID, Kind: "CAMPAIGN_INVITATION", Title: "新", DedupeKey: ptr("campaign:new")},
			{OwnerID: b.ID, Kind: "CAMPAIGN_INVITATION", Title: "又", DedupeKey: ptr("campaign:new")}, // twice in the batch
			{OwnerID: a.ID, Kind: "NEWS", Title: "无键"},
		}
	}
	ns := batch()
	created, err := w.inbox.CreateNotifications(w.Ctx, ns)
	must(t, err)
	if len(created) != 3 || created[0] != ns[0] || created[1] != ns[2] || created[2] != ns[4] {
		t.Fatalf("created %+v; want the first, third and fifth", created)
	}
	if ns[0].ID == uuid.Nil || ns[0].CreatedAt.IsZero() {
		t.Fatalf("id and time not filled: %+v", ns[0])
	}
	if n := w.Count(&inbox.Notification{}); n != 4 {
		t.Fatalf("%d notifications; want 4", n)
	}
	// A bad one refuses the batch, nothing written.
	_, err = w.inbox.CreateNotifications(w.Ctx, []*inbox.Notification{{OwnerID: a.ID, Kind: "NEWS", Title: "好"}, {OwnerID: a.ID, Kind: "NEWS", Title: " "}})
	wantCode(t, err, models.CodeInvalidArgument, "")
	if n := w.Count(&inbox.Notification{}); n != 4 {
		t.Fatalf("%d notifications after a refused batch; want 4", n)
	}
	// Concurrent batches of the same keys: each key once in all.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 6 {
		wg.Go(func() {
			var keyed []*inbox.Notification
			for _, o := range []*models.Owner{a, b} {
				keyed = append(keyed, &inbox.Notification{OwnerID: o.ID, Kind: "CAMPAIGN_INVITATION", Title: "并发", DedupeKey: ptr("campaign:race")})
			}
			created, err := w.inbox.CreateNotifications(w.Ctx, keyed)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			wins += len(created)
			mu.Unlock()
		})
	}
	wg.Wait()
	if wins != 2 || w.Count(&inbox.Notification{}) != 6 {
		t.Fatalf("%d created by concurrent batches, %d rows; want 2 and 6", wins, w.Count(&inbox.Notification{}))
	}
}
