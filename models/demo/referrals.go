package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Demo referrals (docs/referrals.md): 张伟 (the demo owner) has his code,
// and 刘洋 signed up with it on his phone; his Highlander, registered at
// SZ01, rewarded both of them with the default points.

// seedReferrals makes the demo referral through the referrals service, as
// the sign-up and the car's registration would; last of the demo, so its
// reward is the newest entry of both ledgers.
func (g *group) seedReferrals(ctx context.Context, db *models.DB, now time.Time) error {
	// The sign-up's abuse check looks the friend's phone up among erased
	// ones by its keyed digest. The demo holds no erased phone and does not
	// know the server's key: any key finds none, so a random one is used.
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	rf := &referrals.Service{DB: db, Clock: func() time.Time { return now }, Directory: &directory.Service{DB: db},
		Wallet: &wallet.Service{DB: db}, Config: referrals.Config{PhoneKey: key}}
	code, err := rf.CodeOf(ctx, g.ownerID(DemoOwnerPhone))
	if err != nil {
		return err
	}
	liu, car := g.firstCar("刘洋")
	var friend *models.Owner
	for i := range g.owners {
		if g.owners[i].ID == liu {
			friend = &g.owners[i]
		}
	}
	if friend == nil || car == uuid.Nil {
		return fmt.Errorf("demo: no 刘洋 or his car")
	}
	if err := rf.SignedIn(ctx, friend, true, referrals.SignUp{Code: code, DeviceID: "demo-liuyang-iphone", Via: referrals.ViaSMS}); err != nil {
		return err
	}
	v, err := (&directory.Service{DB: db}).Vehicle(ctx, car)
	if err != nil {
		return err
	}
	if v.SellingStoreID == nil {
		return fmt.Errorf("demo: 刘洋's car has no selling store")
	}
	r, err := rf.Qualify(ctx, referrals.Qualifying{OwnerID: liu, Event: referrals.CarPurchase, RefID: car, StoreID: *v.SellingStoreID,
		Car: func(context.Context) (string, []uuid.UUID, error) { return v.VIN, nil, nil }})
	if err != nil {
		return err
	}
	if r == nil || r.Status != referrals.Rewarded {
		return fmt.Errorf("demo: 刘洋's referral not rewarded: %+v", r)
	}
	// Both have read the news.
	ib := &inbox.Service{DB: db}
	for _, id := range []uuid.UUID{r.ReferrerID, r.ReferredID} {
		ns, err := ib.OwnerNotifications(ctx, id)
		if err != nil {
			return err
		}
		var read []uuid.UUID
		for _, n := range ns {
			if n.Kind == referrals.NotifyRewarded {
				read = append(read, n.ID)
			}
		}
		if _, err := ib.MarkNotificationsRead(ctx, &auth.Principal{Kind: auth.KindOwner, ID: id}, read, false); err != nil {
			return err
		}
	}
	return nil
}
