// Package demo loads the demo dealer group into an empty database: two stores,
// staff for every role, and owners with their cars, so that a fresh clone has
// someone to log in as. The content is fixed (only ids, the password salt and
// the dates that must stay near today vary), so documentation can refer to it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Demo credentials, for the README and OTP_TEST_NUMBERS.
const (
	// DemoOwnerPhone is 张伟, who owns two cars.
	DemoOwnerPhone = "+8613800000001"
	// DemoOTPCode is the fixed sign-in code of the demo owner (via OTP_TEST_NUMBERS).
	DemoOTPCode = "246810"
	// DefaultPassword is every demo staff member's password unless DEMO_PASSWORD says otherwise.
	DefaultPassword = "ownerhub-demo"
)

// ErrNotEmpty means the database already has stores; Seed changed nothing.
var ErrNotEmpty = errors.New("demo: database is not empty")

// Summary says what Seed loaded.
type Summary struct {
	Stores, Staff, Owners, Vehicles int
	RepairOrders                    int // history of every car, and today's orders in every status
	Appointments                    int // booked for the coming days
	DemoOwnerPhone                  string
	StaffUsernames                  []string // store staff by store, then admin
}

// Seed loads the demo data in one transaction if the database has no stores;
// otherwise it returns ErrNotEmpty and changes nothing. Staff passwords are
// password (DefaultPassword when empty).
func Seed(ctx context.Context, db *models.DB, password string) (Summary, error) {
	if password == "" {
		password = DefaultPassword
	}
	// Cheap check first, so a non-empty database does not pay for hashing.
	if n, err := (&directory.Service{DB: db}).CountStores(ctx); err != nil {
		return Summary{}, err
	} else if n > 0 {
		return Summary{}, ErrNotEmpty
	}
	// Seed's transaction runs at now: the rows it writes at its own time
	// (stores, staff, owners) carry it, as the demo services' clocks start.
	now := db.Now(ctx)
	db = db.WithClock(func() time.Time { return now })
	g, err := build(password, models.ChinaDate(now), now)
	if err != nil {
		return Summary{}, err
	}
	var orders, appointments int
	err = db.WithTx(ctx, func(ctx context.Context) error {
		// Checked again inside the transaction; a concurrent Seed that wins
		// the race makes our store insert hit the unique store code.
		if n, err := (&directory.Service{DB: db}).CountStores(ctx); err != nil {
			return err
		} else if n > 0 {
			return ErrNotEmpty
		}
		if err := g.insert(ctx, db); err != nil {
			if models.IsUniqueViolation(err) {
				return ErrNotEmpty
			}
			return err
		}
		if orders, err = g.seedWorkshop(ctx, db, now); err != nil {
			return err
		}
		if appointments, err = g.seedBooking(ctx, db, now); err != nil {
			return err
		}
		if err = g.seedEvents(ctx, db, now); err != nil {
			return err
		}
		if _, err = g.seedRoadside(ctx, db, now); err != nil {
			return err
		}
		if err = g.seedCare(ctx, db, now); err != nil {
			return err
		}
		if err = g.seedSegments(ctx, db, now); err != nil {
			return err
		}
		if err = g.seedReferrals(ctx, db, now); err != nil {
			return err
		}
		if err = g.seedPackages(ctx, db, now); err != nil {
			return err
		}
		return g.seedConsents(ctx, db)
	})
	if err != nil {
		return Summary{}, err
	}
	sum := g.summary()
	sum.RepairOrders = orders
	sum.Appointments = appointments
	return sum, nil
}

// group is the demo data as rows, ready to insert.
type group struct {
	stores     []models.Store
	hours      []models.StoreHours
	staff      []models.Staff
	roles      []models.StaffRole
	staffStore []models.StaffStore
	owners     []models.Owner
	vehicles   []models.Vehicle
	orders     []uuid.UUID // the repair orders seedWorkshop opened, in time order
}

// insert loads the rows through the directory, which fills in their
// timestamps in g's slices.
func (g *group) insert(ctx context.Context, db *models.DB) error {
	return (&directory.Service{DB: db}).Load(ctx, &directory.Group{Stores: g.stores, Hours: g.hours, Staff: g.staff,
		Roles: g.roles, StaffStores: g.staffStore, Owners: g.owners, Vehicles: g.vehicles})
}

// ownerIDs are the demo owners' ids.
func (g *group) ownerIDs() []uuid.UUID {
	ids := make([]uuid.UUID, len(g.owners))
	for i, o := range g.owners {
		ids[i] = o.ID
	}
	return ids
}

func (g *group) summary() Summary {
	s := Summary{
		Stores:         len(g.stores),
		Staff:          len(g.staff),
		Owners:         len(g.owners),
		Vehicles:       len(g.vehicles),
		DemoOwnerPhone: DemoOwnerPhone,
	}
	for _, st := range g.staff {
		s.StaffUsernames = append(s.StaffUsernames, st.Username)
	}
	return s
}

// build turns the demo data into rows. today anchors the dates that must stay
// near the present; now stamps mileage readings.
func build(password string, today models.Date, now time.Time) (*group, error) {
	g := &group{}
	storeID := map[string]uuid.UUID{}
	for _, s := range stores {
		id := models.NewID()
		storeID[s.Code] = id
		g.stores = append(g.stores, models.Store{
			ID: id, Code: s.Code, Name: s.Name, City: s.City, Address: s.Address, Phone: s.Phone,
			Timezone: "Asia/Shanghai", ServiceBays: s.Bays, SlotMinutes: slotMinutes,
		})
		for wd := range 7 {
			opens, closes := weekdayOpens, weekdayCloses
			if time.Weekday(wd) == time.Sunday {
				opens, closes = sundayOpens, sundayCloses
			}
			g.hours = append(g.hours, models.StoreHours{StoreID: id, Weekday: wd, Opens: opens, Closes: closes})
		}
	}
	if err := g.buildStaff(password, storeID); err != nil {
		return nil, err
	}
	for i, o := range owners {
		if err := g.buildOwner(i, o, storeID, today, now); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (g *group) buildStaff(password string, storeID map[string]uuid.UUID) error {
	add := func(username, name string, role string, stores ...uuid.UUID) {
		id := models.NewID()
		g.staff = append(g.staff, models.Staff{ID: id, Username: username, Name: name, Active: true})
		g.roles = append(g.roles, models.StaffRole{StaffID: id, Role: role})
		for _, s := range stores {
			g.staffStore = append(g.staffStore, models.StaffStore{StaffID: id, StoreID: s})
		}
	}
	for i, s := range stores {
		for _, st := range storeStaff {
			add(st.Login+"."+strings.ToLower(s.Code), st.Name[i], st.Role, storeID[s.Code])
		}
	}
	var all []uuid.UUID
	for _, s := range stores {
		all = append(all, storeID[s.Code])
	}
	add(AdminUsername, adminName, string(auth.RoleGroupAdmin), all...)

	// One hash for every account: the demo password is published in the
	// README, so per-account salts would protect nothing, and bcrypt's
	// deliberate ~50 ms per hash times 17 accounts would dominate Seed
	// (about 0.8 s even in parallel on a small CI machine).
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("demo: hash password: %w", err)
	}
	for i := range g.staff {
		g.staff[i].PasswordHash = hash
	}
	return nil
}

func (g *group) buildOwner(i int, o ownerData, storeID map[string]uuid.UUID, today models.Date, now time.Time) error {
	phone := fmt.Sprintf("+86138%08d", i+1)
	if _, err := validate.NormalizePhone(phone); err != nil {
		return fmt.Errorf("demo owner %s: %w", o.Name, err)
	}
	birthday, err := models.ParseDate(o.Birthday)
	if err != nil {
		return err
	}
	home := storeID[o.Home]
	gender := o.Gender
	owner := models.Owner{
		ID: models.NewID(), Phone: phone, Name: o.Name, Birthday: &birthday, Gender: &gender,
		HomeStoreID: &home, MarketingConsent: o.Consent,
	}
	if o.Consent {
		at := now
		owner.MarketingConsentAt = &at
	}
	g.owners = append(g.owners, owner)
	for j, v := range o.Vehicles {
		row, err := buildVehicle(v, owner.ID, storeID, today, now.Add(-time.Duration(i%5+j+1)*24*time.Hour))
		if err != nil {
			return fmt.Errorf("demo owner %s: %w", o.Name, err)
		}
		g.vehicles = append(g.vehicles, row)
	}
	return nil
}

// Warranty of every demo car: 3 years or 100,000 km from purchase.
const (
	warrantyYears = 3
	warrantyKm    = 100_000
)

func buildVehicle(v vehicleData, ownerID uuid.UUID, storeID map[string]uuid.UUID, today models.Date, readAt time.Time) (models.Vehicle, error) {
	vin, err := validate.WithVINCheckDigit(fmt.Sprintf("LVGB%s0%cG%06d", v.VDS, modelYearCode(v.Year), v.Serial))
	if err != nil {
		return models.Vehicle{}, err
	}
	plate, err := validate.NormalizePlate(v.Plate)
	if err != nil {
		return models.Vehicle{}, err
	}
	if plate != v.Plate {
		return models.Vehicle{}, fmt.Errorf("plate %q is not in canonical form %q", v.Plate, plate)
	}
	purchase, err := models.ParseDate(v.Purchase)
	if err != nil {
		return models.Vehicle{}, err
	}
	store := storeID[v.Store]
	warrantyEnd := purchase.AddDate(warrantyYears, 0, 0)
	km := warrantyKm
	insurance := today.AddDate(0, 0, v.InsuranceIn)
	inspection := today.AddDate(0, 0, v.InspectionIn)
	return models.Vehicle{
		ID: models.NewID(), OwnerID: ownerID, VIN: vin, Plate: &plate,
		Brand: brand, Model: v.Model, ModelYear: v.Year, Colour: v.Colour,
		PurchaseDate: &purchase, SellingStoreID: &store,
		WarrantyEndDate: &warrantyEnd, WarrantyEndKm: &km,
		InsuranceExpiry: &insurance, InspectionDue: &inspection,
		MileageKm: v.Km, MileageReadAt: &readAt,
	}, nil
}

// Present reports whether the demo owner exists, i.e. whether the demo
// logins printed at start would work.
func Present(ctx context.Context, db *models.DB) bool {
	in, err := (&directory.Service{DB: db}).PhoneInUse(ctx, DemoOwnerPhone)
	return err == nil && in
}
