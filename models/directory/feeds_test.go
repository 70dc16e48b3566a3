package directory_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// TestFeedsForScheduledWork reads every car, birthday and new car in
// batches, and leaves out owners who deleted their account.
func TestFeedsForScheduledWork(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.Owner(1, "甲", w.SZ)
	b := w.Owner(2, "乙", nil)
	gone := w.Owner(3, "丙", w.GZ)
	must(t, w.dir.MarkOwnerDeleted(w.Ctx, gone.ID, w.DB.Now(w.Ctx)))
	day := func(d models.Date) *models.Date { return &d }
	must(t, w.DB.Conn(w.Ctx).Model(&models.Owner{}).Where("id IN ?", []uuid.UUID{a.ID, gone.ID}).
		Updates(map[string]any{"marketing_consent": true, "birthday": day(models.Date{Year: 1990, Month: 5, Day: 1})}).Error)
	must(t, w.DB.Conn(w.Ctx).Model(&models.Owner{}).Where("id = ?", b.ID).
		Update("birthday", day(models.Date{Year: 1991, Month: 6, Day: 2})).Error) // no consent
	a1, a2, b1 := w.Car(a, 1, w.SZ), w.Car(a, 2, nil), w.Car(b, 3, w.GZ)
	w.Car(gone, 4, w.SZ)

	var got []uuid.UUID
	for after, more := uuid.Nil, true; more; {
		cars, err := w.dir.CarsAfter(w.Ctx, after, 2)
		must(t, err)
		for _, c := range cars {
			got = append(got, c.ID)
			if c.ID == a1.ID && (!c.MarketingConsent || c.HomeStoreID == nil || *c.HomeStoreID != w.SZ.ID || c.VIN != a1.VIN) {
				t.Errorf("car a1 = %+v; want its owner's consent and home store", c)
			}
		}
		if more = len(cars) == 2; more {
			after = cars[len(cars)-1].ID
		}
	}
	want := []uuid.UUID{a1.ID, a2.ID, b1.ID}
	slices.SortFunc(want, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	if !slices.Equal(got, want) {
		t.Errorf("CarsAfter in batches = %v; want %v (no deleted owner's car, in id order)", got, want)
	}

	bs, err := w.dir.BirthdaysAfter(w.Ctx, uuid.Nil, 10)
	must(t, err)
	if len(bs) != 1 || bs[0].ID != a.ID || bs[0].Birthday.String() != "1990-05-01" {
		t.Errorf("BirthdaysAfter = %+v; want only a (b gave no consent, c deleted the account)", bs)
	}

	// New cars: sold by a store, bought in the window; the caller narrows.
	bought := models.Date{Year: 2026, Month: 3, Day: 10}
	must(t, w.DB.Conn(w.Ctx).Model(&models.Vehicle{}).Where("id IN ?", []uuid.UUID{a1.ID, a2.ID, b1.ID}).
		Update("purchase_date", bought).Error)
	must(t, w.DB.Conn(w.Ctx).Model(&models.Store{}).Where("id = ?", w.GZ.ID).Update("timezone", "Asia/Urumqi").Error)
	var news []directory.NewCar
	must(t, w.dir.NewCarsQuery(w.Ctx, bought, bought).Scan(&news).Error)
	if len(news) != 2 {
		t.Fatalf("NewCarsQuery = %+v; want a1 and b1 (a2 has no selling store)", news)
	}
	for _, n := range news {
		switch n.ID {
		case a1.ID:
			if n.SellingStoreID != w.SZ.ID || n.Timezone != "Asia/Shanghai" || n.PurchaseDate != bought {
				t.Errorf("a1 = %+v", n)
			}
		case b1.ID:
			if n.SellingStoreID != w.GZ.ID || n.Timezone != "Asia/Urumqi" || n.OwnerID != b.ID {
				t.Errorf("b1 = %+v", n)
			}
		default:
			t.Errorf("unexpected car %+v", n)
		}
	}
	must(t, w.dir.NewCarsQuery(w.Ctx, bought, bought).Where("v.id <> ?", a1.ID).Scan(&news).Error)
	if len(news) != 1 || news[0].ID != b1.ID {
		t.Errorf("NewCarsQuery narrowed by the caller = %+v; want b1", news)
	}
	news = nil
	must(t, w.dir.NewCarsQuery(w.Ctx, bought.AddDate(0, 0, 1), bought.AddDate(0, 0, 30)).Scan(&news).Error)
	if len(news) != 0 {
		t.Errorf("NewCarsQuery after the purchase = %+v; want none", news)
	}
}
