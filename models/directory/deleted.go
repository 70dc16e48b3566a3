package directory

import (
	"context"
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
	var rows []struct {
		models.Owner `gorm:"embedded"`
		Deleted      bool
		S            *models.Store `gorm:"embedded;embeddedPrefix:s_"`
		HWeekday     *int
		HOpens       *string
		HCloses      *string
	}
	err := s.DB.Conn(ctx).Model(&models.Owner{}).
		Select(`owners.*, EXISTS (SELECT 1 FROM deleted_owners d WHERE d.owner_id = owners.id) AS deleted,
			s.id AS s_id, s.code AS s_code, s.name AS s_name, s.city AS s_city, s.address AS s_address, s.phone AS s_phone,
			s.timezone AS s_timezone, s.service_bays AS s_service_bays, s.slot_minutes AS s_slot_minutes,
			s.created_at AS s_created_at, s.updated_at AS s_updated_at, s.latitude AS s_latitude, s.longitude AS s_longitude,
			h.weekday AS h_weekday, h.opens AS h_opens, h.closes AS h_closes`).
		Joins("LEFT JOIN stores s ON s.id = owners.home_store_id").
		Joins("LEFT JOIN store_hours h ON h.store_id = s.id").
		Where("owners.id = ?", ownerID).Order("h.weekday").Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return SignedIn{}, err
	}
	out := SignedIn{Owner: &rows[0].Owner, Deleted: rows[0].Deleted}
	if o := out.Owner; o.HomeStoreID != nil && rows[0].S != nil && rows[0].S.ID == *o.HomeStoreID {
		st := *rows[0].S
		st.Hours = []models.StoreHours{}
		for _, r := range rows {
			if r.HWeekday != nil {
				st.Hours = append(st.Hours, models.StoreHours{StoreID: st.ID, Weekday: *r.HWeekday, Opens: *r.HOpens, Closes: *r.HCloses})
			}
		}
		out.HomeStore = &st
	}
	return out, nil
}
