package directory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// DeletedOwner marks an owner who deleted the account. The mark is the
// directory's (docs/architecture.md): its feeds for scheduled work leave
// these owners out in the same statement as their reads, and every
// capability that acts on an owner for staff asks OwnerDeleted. Package
// privacy decides the deletion and sets the mark through MarkOwnerDeleted.
type DeletedOwner struct {
	OwnerID   uuid.UUID `gorm:"primaryKey"`
	DeletedAt time.Time
}

// MarkOwnerDeleted marks the owner deleted at the given time, in the
// transaction of ctx. The caller (privacy's DeleteAccount) holds the
// owner's row lock and has checked OwnerDeleted: a second mark fails on
// the primary key.
func (s *Service) MarkOwnerDeleted(ctx context.Context, ownerID uuid.UUID, at time.Time) error {
	return s.DB.Conn(ctx).Create(&DeletedOwner{OwnerID: ownerID, DeletedAt: at}).Error
}

// OwnerDeleted reports whether the owner deleted the account: one
// primary-key read. Callers that must not race a deletion hold a lock the
// deletion also takes (the owner's row, the membership account) first.
func (s *Service) OwnerDeleted(ctx context.Context, ownerID uuid.UUID) (bool, error) {
	var n int64
	err := s.DB.Conn(ctx).Model(&DeletedOwner{}).Where("owner_id = ?", ownerID).Limit(1).Count(&n).Error
	return n > 0, err
}

// SignedIn is what an owner's request reads of the owner before it runs
// (SignedInOwner).
type SignedIn struct {
	Owner     *models.Owner // nil when there is no such row
	HomeStore *models.Store // with its opening hours; nil when none
	Deleted   bool          // the account was deleted
}

// SignedInOwner reads the owner's row, whether the account was deleted and
// the owner's home store with its hours, in one statement: the check every
// owner request makes, with the rows the owner's own reads (me, its home
// store) then take instead of reading them again. No authorization: the
// caller is the owner.
func (s *Service) SignedInOwner(ctx context.Context, ownerID uuid.UUID) (SignedIn, error) {
	q := signedInPostgres
	if s.DB.Dialect == models.SQLite {
		q = signedInSQLite
	}
	// Scanned column by column, not by GORM's reflection: this read runs
	// before every owner request (docs/performance.md).
	// TestSignedInOwner compares the rows with GORM's own reads of them, so
	// a column added to either model and not here fails it.
	rows, err := s.DB.Conn(ctx).Raw(q, ownerID).Rows()
	if err != nil {
		return SignedIn{}, err
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		return SignedIn{}, rows.Err()
	}
	var (
		o     models.Owner
		out   = SignedIn{Owner: &o}
		st    models.Store
		sid   *uuid.UUID
		hours *string
		// The store's columns are NULL when the owner has no home store.
		code, name, city, address, phone, timezone *string
		bays, slot                                 *int
		created, updated                           *time.Time
	)
	if err := rows.Scan(&o.ID, &o.Phone, &o.Name, &o.Birthday, &o.Gender, &o.HomeStoreID, &o.WeChatOpenID, &o.WeChatUnionID,
		&o.MarketingConsent, &o.MarketingConsentAt, &o.CreatedAt, &o.UpdatedAt, &out.Deleted,
		&sid, &code, &name, &city, &address, &phone, &timezone, &bays, &slot, &created, &updated,
		&st.Latitude, &st.Longitude, &hours); err != nil {
		return SignedIn{}, err
	}
	if err := rows.Close(); err != nil {
		return SignedIn{}, err
	}
	if sid == nil || o.HomeStoreID == nil || *sid != *o.HomeStoreID {
		return out, nil
	}
	st.ID, st.Code, st.Name, st.City, st.Address, st.Phone, st.Timezone = *sid, *code, *name, *city, *address, *phone, *timezone
	st.ServiceBays, st.SlotMinutes, st.CreatedAt, st.UpdatedAt = *bays, *slot, *created, *updated
	if st.Hours, err = parseHours(st.ID, hours); err != nil {
		return SignedIn{}, err
	}
	out.HomeStore = &st
	return out, nil
}

// signedInOwner is SignedInOwner's statement; hours aggregates the home
// store's opening hours into one text of 11 characters a day (weekday,
// opens, closes; the columns' checks fix their widths), not a row a day
// repeating the owner and the store, which cost every owner request seven
// rows to scan (docs/performance.md).
func signedInOwner(hours string) string {
	return `SELECT o.id, o.phone, o.name, o.birthday, o.gender, o.home_store_id, o.wechat_openid, o.wechat_unionid,
		o.marketing_consent, o.marketing_consent_at, o.created_at, o.updated_at,
		EXISTS (SELECT 1 FROM deleted_owners d WHERE d.owner_id = o.id),
		s.id, s.code, s.name, s.city, s.address, s.phone, s.timezone, s.service_bays, s.slot_minutes,
		s.created_at, s.updated_at, s.latitude, s.longitude, ` + hours + `
	FROM owners o LEFT JOIN stores s ON s.id = o.home_store_id
	WHERE o.id = ?`
}

var (
	signedInPostgres = signedInOwner(`(SELECT string_agg(CAST(h.weekday AS TEXT) || h.opens || h.closes, '' ORDER BY h.weekday)
		FROM store_hours h WHERE h.store_id = s.id)`)
	signedInSQLite = signedInOwner(`(SELECT group_concat(CAST(h.weekday AS TEXT) || h.opens || h.closes, '')
		FROM store_hours h WHERE h.store_id = s.id)`)
)

// parseHours reads the hours SignedInOwner aggregates: 11 characters a
// day ("1" "09:00" "18:00"), in any order.
func parseHours(storeID uuid.UUID, text *string) ([]models.StoreHours, error) {
	const width = 1 + 5 + 5
	hours := []models.StoreHours{}
	if text == nil {
		return hours, nil
	}
	t := *text
	if len(t)%width != 0 {
		return nil, fmt.Errorf("store %s: opening hours %q are not %d characters a day", storeID, t, width)
	}
	for ; t != ""; t = t[width:] {
		day := int(t[0] - '0')
		if day < 0 || day > 6 {
			return nil, fmt.Errorf("store %s: weekday %q", storeID, t[:1])
		}
		hours = append(hours, models.StoreHours{StoreID: storeID, Weekday: day, Opens: t[1:6], Closes: t[6:11]})
	}
	slices.SortFunc(hours, func(a, b models.StoreHours) int { return a.Weekday - b.Weekday })
	return hours, nil
}
