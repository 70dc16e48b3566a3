package directory_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.Owner(1, "", nil)
	me := ownerPrincipal(a)

	got, err := w.dir.UpdateProfile(w.Ctx, me, a.ID, directory.ProfileChange{
		Name: ptr("  张伟  "), Birthday: date("1985-03-12"), Gender: ptr(directory.GenderMale),
		HomeStoreID: &w.SZ.ID, MarketingConsent: ptr(true),
	})
	must(t, err)
	if got.Name != "张伟" || got.Birthday.String() != "1985-03-12" || *got.Gender != "MALE" ||
		*got.HomeStoreID != w.SZ.ID || !got.MarketingConsent || got.MarketingConsentAt == nil {
		t.Fatalf("UpdateProfile = %+v", got)
	}
	stamped := *got.MarketingConsentAt

	// Read back: everything stored.
	back, err := w.dir.OwnerFor(w.Ctx, me, a.ID)
	must(t, err)
	if back.Name != "张伟" || back.Birthday.String() != "1985-03-12" || back.MarketingConsentAt == nil ||
		!back.MarketingConsentAt.Equal(stamped) {
		t.Fatalf("stored owner = %+v", back)
	}

	// Unchanged consent keeps its time; omitted fields stay.
	got, err = w.dir.UpdateProfile(w.Ctx, me, a.ID, directory.ProfileChange{MarketingConsent: ptr(true), Gender: ptr(directory.GenderFemale)})
	must(t, err)
	if !got.MarketingConsentAt.Equal(stamped) || got.Name != "张伟" || *got.Gender != "FEMALE" {
		t.Fatalf("second update = %+v", got)
	}
	got, err = w.dir.UpdateProfile(w.Ctx, me, a.ID, directory.ProfileChange{MarketingConsent: ptr(false)})
	must(t, err)
	if got.MarketingConsent || got.MarketingConsentAt == nil || got.MarketingConsentAt.Before(stamped) {
		t.Fatalf("withdrawn consent = %+v", got)
	}

	// Birthday today is fine, tomorrow is not.
	_, err = w.dir.UpdateProfile(w.Ctx, me, a.ID, directory.ProfileChange{Birthday: ptr(today())})
	must(t, err)

	refusals := []struct {
		name  string
		ch    directory.ProfileChange
		field string
	}{
		{"blank name", directory.ProfileChange{Name: ptr("   ")}, "name"},
		{"name too long", directory.ProfileChange{Name: ptr(strings.Repeat("张", 41))}, "name"},
		{"name with newline", directory.ProfileChange{Name: ptr("张\n伟")}, "name"},
		{"birthday before 1900", directory.ProfileChange{Birthday: date("1899-12-31")}, "birthday"},
		{"birthday tomorrow", directory.ProfileChange{Birthday: ptr(today().AddDate(0, 0, 1))}, "birthday"},
		{"gender", directory.ProfileChange{Gender: ptr("OTHER")}, "gender"},
		{"no such home store", directory.ProfileChange{HomeStoreID: ptr(uuid.New()), Name: ptr("李四")}, "homeStoreId"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := w.dir.UpdateProfile(w.Ctx, me, a.ID, r.ch)
			wantCode(t, err, models.CodeInvalidArgument, r.field)
		})
	}
	// A refusal changed nothing (the home store case also carried a name).
	back, err = w.dir.OwnerFor(w.Ctx, me, a.ID)
	must(t, err)
	if back.Name != "张伟" || *back.HomeStoreID != w.SZ.ID {
		t.Fatalf("after refusals owner = %+v", back)
	}
	_, err = w.dir.UpdateProfile(w.Ctx, me, a.ID, directory.ProfileChange{Name: ptr(strings.Repeat("张", 40))})
	must(t, err) // 40 characters is the limit, not 40 bytes

	// Authorization.
	b := w.Owner(2, "王芳", w.GZ)
	_, err = w.dir.UpdateProfile(w.Ctx, me, b.ID, directory.ProfileChange{Name: ptr("hacked")})
	wantCode(t, err, models.CodeNotFound, "")
	_, err = w.dir.UpdateProfile(w.Ctx, w.Admin, b.ID, directory.ProfileChange{Name: ptr("hacked")})
	wantCode(t, err, models.CodeForbidden, "")
	_, err = w.dir.UpdateProfile(w.Ctx, nil, b.ID, directory.ProfileChange{Name: ptr("hacked")})
	wantCode(t, err, models.CodeUnauthenticated, "")
	back, err = w.dir.OwnerFor(w.Ctx, w.Admin, b.ID)
	must(t, err)
	if back.Name != "王芳" {
		t.Fatalf("owner B was changed: %+v", back)
	}
	// An owner token for a deleted/unknown owner id.
	ghost := uuid.New()
	_, err = w.dir.UpdateProfile(w.Ctx, &auth.Principal{Kind: auth.KindOwner, ID: ghost}, ghost, directory.ProfileChange{})
	wantCode(t, err, models.CodeNotFound, "")
}

func ids(owners []*models.Owner) []uuid.UUID {
	out := make([]uuid.UUID, len(owners))
	for i, o := range owners {
		out[i] = o.ID
	}
	return out
}

func TestSearchOwners(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	zhangSZ := w.Owner(1, "张伟", w.SZ)
	zhangGZ := w.Owner(2, "张磊", w.GZ) // a customer of GZ only
	zhangCross := w.Owner(3, "张三", w.GZ)
	w.Car(zhangCross, 3, w.SZ) // bought at SZ
	w.Car(zhangGZ, 2, w.GZ)    // plate 粤B00002
	w.Owner(4, "%张", w.SZ)

	search := func(actor *auth.Principal, s string) []uuid.UUID {
		t.Helper()
		got, more, err := w.dir.SearchOwners(w.Ctx, actor, s, models.Page{First: 20})
		must(t, err)
		if more {
			t.Fatalf("unexpected next page")
		}
		return ids(got)
	}
	same := func(got []uuid.UUID, want ...*models.Owner) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i].ID {
				return false
			}
		}
		return true
	}

	if got := search(w.SZAdvisor, "张"); !same(got, zhangSZ, zhangCross) {
		t.Errorf("SZ staff search 张 = %v; want 张伟, 张三 (not the GZ-only 张磊)", got)
	}
	if got := search(w.GZAdvisor, " 张 "); !same(got, zhangGZ, zhangCross) {
		t.Errorf("GZ staff search 张 = %v; want 张磊, 张三", got)
	}
	if got := search(w.Admin, "张"); !same(got, zhangSZ, zhangGZ, zhangCross) {
		t.Errorf("admin search 张 = %v; want all three", got)
	}
	if got := search(w.SZAdvisor, "张伟"); !same(got, zhangSZ) {
		t.Errorf("search 张伟 = %v", got)
	}
	if got := search(w.SZAdvisor, "伟"); len(got) != 0 {
		t.Errorf("search 伟 = %v; name search matches prefixes only", got)
	}
	if got := search(w.SZAdvisor, "%"); len(got) != 1 {
		t.Errorf("search %% = %v; want only the name starting with %%", got)
	}
	if got := search(w.SZAdvisor, "张磊"); len(got) != 0 {
		t.Errorf("SZ staff found GZ-only customer by name: %v", got)
	}
	// Exact phone and plate work across the group, in the forms people type.
	if got := search(w.SZAdvisor, "139 0000 0002"); !same(got, zhangGZ) {
		t.Errorf("SZ staff phone search = %v; want 张磊", got)
	}
	if got := search(w.SZAdvisor, "+86 13900000002"); !same(got, zhangGZ) {
		t.Errorf("SZ staff E.164 phone search = %v; want 张磊", got)
	}
	if got := search(w.SZAdvisor, "粤b·00002"); !same(got, zhangGZ) {
		t.Errorf("SZ staff plate search = %v; want 张磊", got)
	}
	if got := search(w.SZAdvisor, "13900000099"); len(got) != 0 {
		t.Errorf("unknown phone = %v", got)
	}
	storeless := &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleCRM}}
	if got := search(storeless, "张"); len(got) != 0 {
		t.Errorf("staff without stores found %v", got)
	}

	for _, bad := range []string{"", "   ", strings.Repeat("张", 41)} {
		_, _, err := w.dir.SearchOwners(w.Ctx, w.SZAdvisor, bad, models.Page{First: 20})
		wantCode(t, err, models.CodeInvalidArgument, "search")
	}
	_, _, err := w.dir.SearchOwners(w.Ctx, ownerPrincipal(zhangSZ), "张", models.Page{First: 20})
	wantCode(t, err, models.CodeForbidden, "")
	// Technicians work on cars, not with customers' records.
	_, _, err = w.dir.SearchOwners(w.Ctx, w.SZTech, "139 0000 0002", models.Page{First: 20})
	wantCode(t, err, models.CodeForbidden, "")
	_, _, err = w.dir.SearchOwners(w.Ctx, nil, "张", models.Page{First: 20})
	wantCode(t, err, models.CodeUnauthenticated, "")
}

func TestSearchOwnersPaging(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var want []uuid.UUID
	for i := range 25 {
		want = append(want, w.Owner(100+i, fmt.Sprintf("李%02d", i), w.SZ).ID)
	}
	w.Owner(200, "李GZ", w.GZ) // out of scope
	var got []uuid.UUID
	after := uuid.Nil
	for pages := 1; ; pages++ {
		page, more, err := w.dir.SearchOwners(w.Ctx, w.SZCRM, "李", models.Page{First: 10, After: models.Cursor{ID: after}})
		must(t, err)
		got = append(got, ids(page)...)
		if wantMore := pages < 3; more != wantMore {
			t.Fatalf("page %d: hasNext = %v; want %v", pages, more, wantMore)
		}
		if !more {
			if len(page) != 5 {
				t.Fatalf("last page has %d; want 5", len(page))
			}
			break
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged ids = %v; want %v", got, want)
	}
}
