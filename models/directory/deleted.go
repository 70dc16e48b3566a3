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
	// One row: the hours come as one text of 11 characters a day
	// (weekday, opens, closes; the columns' checks fix their widths), not
	// as a row a day repeating the owner and the store, which cost every
	// owner request seven rows to scan (docs/performance.md).
	hours := `(SELECT string_agg(CAST(h.weekday AS TEXT) || h.opens || h.closes, '' ORDER BY h.weekday)
			FROM store_hours h WHERE h.store_id = s.id)`
	if s.DB.Dialect == models.SQLite {
		hours = `(SELECT group_concat(CAST(h.weekday AS TEXT) || h.opens || h.closes, '')
			FROM store_hours h WHERE h.store_id = s.id)`
	}
	var row struct {
		models.Owner `gorm:"embedded"`
		Deleted      bool
		S            *models.Store `gorm:"embedded;embeddedPrefix:s_"`
		Hours        *string
	}
	err := models.Scan(s.DB.Conn(ctx).Model(&models.Owner{}).
		Select(`owners.*, EXISTS (SELECT 1 FROM deleted_owners d WHERE d.owner_id = owners.id) AS deleted,
			s.id AS s_id, s.code AS s_code, s.name AS s_name, s.city AS s_city, s.address AS s_address, s.phone AS s_phone,
			s.timezone AS s_timezone, s.service_bays AS s_service_bays, s.slot_minutes AS s_slot_minutes,
			s.created_at AS s_created_at, s.updated_at AS s_updated_at, s.latitude AS s_latitude, s.longitude AS s_longitude,
			`+hours+` AS hours`).
		Joins("LEFT JOIN stores s ON s.id = owners.home_store_id").
		Where("owners.id = ?", ownerID).Limit(1), &row)
	if err != nil || row.ID == uuid.Nil {
		return SignedIn{}, err
	}
	out := SignedIn{Owner: &row.Owner, Deleted: row.Deleted}
	if o := out.Owner; o.HomeStoreID != nil && row.S != nil && row.S.ID == *o.HomeStoreID {
		st := *row.S
		if st.Hours, err = parseHours(st.ID, row.Hours); err != nil {
			return SignedIn{}, err
		}
		out.HomeStore = &st
	}
	return out, nil
}

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
