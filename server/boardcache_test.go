package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// boardStaleness is the bound within which a change made through one
// instance reaches another's board polls (a notification's delivery); the
// cache's maximum age (10s) only bounds a lost notification.
const boardStaleness = 3 * time.Second

// waitLive waits until db hears announcements (the PostgreSQL listener is
// connected): until then every poll reads the database.
func waitLive(t *testing.T, dbs ...*models.DB) {
	t.Helper()
	for _, db := range dbs {
		select {
		case <-db.LiveReady():
		case <-time.After(10 * time.Second):
			t.Fatal("live updates listener not ready")
		}
	}
}

// bdPollFromMemory polls with the current etag and wants 304 at the cost of
// no statement: the fewest statements of five polls (other tests may share
// the counter), and one more attempt across a minute boundary. It returns
// the tag to poll with next.
func bdPollFromMemory(t *testing.T, s *testServer, code, token, etag string) string {
	t.Helper()
	best := int64(-1)
	for range 5 {
		before := s.DB.Statements()
		resp, raw := bdGet(t, s, code, token, etag)
		n := s.DB.Statements() - before
		switch {
		case resp.StatusCode == http.StatusNotModified:
		case resp.StatusCode == http.StatusOK && bdETagVersion(t, resp.Header.Get("ETag")) == bdETagVersion(t, etag):
			etag = resp.Header.Get("ETag") // a new minute
			continue
		default:
			t.Fatalf("poll of an unchanged board: %d %s", resp.StatusCode, raw)
		}
		if best < 0 || n < best {
			best = n
		}
	}
	if best != 0 {
		t.Fatalf("a poll of an unchanged board took %d statements; want none", best)
	}
	return etag
}

// An unchanged board answers 304 from memory, for a screen and for staff;
// a change, or a revocation, made through the same instance shows at the
// next poll.
func TestBoardPollFromMemory(t *testing.T) {
	f := newWorkshop(t)
	waitLive(t, f.DB)
	manager, advisor := f.staff(t, "manager.sz01"), f.staff(t, "advisor.sz01")
	screen, screenID := bdIssue(t, f, manager, f.sz, "3号车间大屏")

	etag, _, _ := bdFull(t, f.testServer, "SZ01", screen)
	etag = bdPollFromMemory(t, f.testServer, "SZ01", screen, etag)
	staffTag, _, _ := bdFull(t, f.testServer, "SZ01", advisor)
	staffTag = bdPollFromMemory(t, f.testServer, "SZ01", advisor, staffTag)

	f.open(t, advisor, f.sz, f.quickCar(t, "SZ01").Plate, 1300, "MAINTENANCE", nil)
	etag, _ = bdPollChanged(t, f.testServer, "SZ01", screen, etag)
	bdPollChanged(t, f.testServer, "SZ01", advisor, staffTag)
	etag = bdPollFromMemory(t, f.testServer, "SZ01", screen, etag)

	f.gql(t, manager, bdRevokeDoc, map[string]any{"id": screenID})
	resp, body := bdGet(t, f.testServer, "SZ01", screen, etag)
	expectProblem(t, resp, body, http.StatusUnauthorized, "UNAUTHENTICATED")
}

// Two instances on one database (PostgreSQL: two pools, each with its own
// listener and cache; SQLite: one process, two servers): a change through
// A makes B's next poll 200 within boardStaleness, and a screen token
// revoked on A is refused by B within it.
func TestBoardPollAcrossInstances(t *testing.T) {
	dbA, dbB := demoInstances(t)
	if dbA == nil {
		dbA, dbB = sharedDB, sharedDB
	}
	waitLive(t, dbA, dbB)
	a := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbA })
	b := newWorkshop(t, func(_ *Config, d *Deps) { d.DB = dbB })
	manager, advisor := a.staff(t, "manager.sz01"), a.staff(t, "advisor.sz01")
	screen, screenID := bdIssue(t, a, manager, a.sz, "跨实例大屏")

	// B has the board and the grant in memory.
	etag, _, _ := bdFull(t, b.testServer, "SZ01", screen)
	etag = bdPollFromMemory(t, b.testServer, "SZ01", screen, etag)

	// A change through A: B's poll turns 200 within the bound.
	start := time.Now()
	a.open(t, advisor, a.sz, a.quickCar(t, "SZ01").Plate, 1400, "MAINTENANCE", nil)
	etag = bdPollUntil(t, b.testServer, screen, etag, start, "B still answers the old board", func(resp *http.Response, _ []byte) bool {
		return resp.StatusCode == http.StatusOK && bdETagVersion(t, resp.Header.Get("ETag")) != bdETagVersion(t, etag)
	})
	t.Logf("B saw A's change after %v", time.Since(start))
	etag = bdPollFromMemory(t, b.testServer, "SZ01", screen, etag)

	// Revoked on A: B refuses the screen within the bound.
	start = time.Now()
	a.gql(t, manager, bdRevokeDoc, map[string]any{"id": screenID})
	bdPollUntil(t, b.testServer, screen, etag, start, "B still takes the revoked screen token", func(resp *http.Response, body []byte) bool {
		if resp.StatusCode != http.StatusUnauthorized {
			return false
		}
		expectProblem(t, resp, body, http.StatusUnauthorized, "UNAUTHENTICATED")
		return true
	})
	t.Logf("B refused the revoked token after %v", time.Since(start))
}

// bdPollUntil polls SZ01's board with etag until done accepts an answer
// (returning its ETag), failing if it has not within boardStaleness of
// start or if an answer is neither 200 nor 304 nor accepted.
func bdPollUntil(t *testing.T, s *testServer, token, etag string, start time.Time, still string, done func(*http.Response, []byte) bool) string {
	t.Helper()
	for {
		resp, raw := bdGet(t, s, "SZ01", token, etag)
		if done(resp, raw) {
			return resp.Header.Get("ETag")
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
			t.Fatalf("poll: %d %s", resp.StatusCode, raw)
		}
		if time.Since(start) > boardStaleness {
			t.Fatalf("%s %v after the change on A", still, time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
