package models

import (
	"strings"

	"github.com/google/uuid"
)

// RefType names the kind of object a Ref points at. The names are the API's
// type names, so the API can turn a Ref into the ID it gives that object.
type RefType string

// The kinds of objects the domain links to.
const (
	RefStore             RefType = "Store"
	RefVehicle           RefType = "Vehicle"
	RefRepairOrder       RefType = "RepairOrder"
	RefAppointment       RefType = "Appointment"
	RefEvent             RefType = "Event"
	RefRegistration      RefType = "Registration"
	RefAssistanceRequest RefType = "AssistanceRequest"
	RefComplaint         RefType = "Complaint"
	RefOnlinePayment     RefType = "OnlinePayment"
	RefCoupon            RefType = "Coupon"
	RefReferral          RefType = "Referral"
	RefOwnerPackage      RefType = "OwnerPackage"
)

// Ref names an object the domain links to: its type and its key. The domain
// speaks in Refs; only the API layer turns them into the opaque IDs clients
// see, so the encoding of those IDs lives in one place.
type Ref struct {
	Type RefType
	ID   uuid.UUID
}

// RefTo is the Ref of the object of type typ with key id.
func RefTo(typ RefType, id uuid.UUID) Ref { return Ref{Type: typ, ID: id} }

// String is the Ref's text, "<Type>:<uuid>" with the key in canonical form.
func (r Ref) String() string { return string(r.Type) + ":" + r.ID.String() }

// ParseRef reads what String writes, and only that: a type of ASCII letters
// and a key in canonical form, so one object has one text.
func ParseRef(s string) (Ref, bool) {
	typ, key, ok := strings.Cut(s, ":")
	if !ok || typ == "" || strings.IndexFunc(typ, func(c rune) bool { return (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') }) >= 0 {
		return Ref{}, false
	}
	id, err := uuid.Parse(key)
	if err != nil || id.String() != key {
		return Ref{}, false
	}
	return Ref{Type: RefType(typ), ID: id}, true
}

// Link is what the app opens from a notification: an object, written as its
// Ref ("RepairOrder:<uuid>"), or an app route ("membership",
// "book?storeId=Store:<uuid>&kind=MAINTENANCE") whose parameters may be Refs.
// It is stored as this text; the API writes each Ref in it as the object's
// ID (Encode).
type Link string

// LinkTo links the object r.
func LinkTo(r Ref) Link { return Link(r.String()) }

// Param is one parameter of a route: a Ref, or a plain Value when Ref is
// zero.
type Param struct {
	Name  string
	Ref   Ref
	Value string
}

// Route links the app route name with params, in order.
func Route(name string, params ...Param) Link {
	var b strings.Builder
	b.WriteString(name)
	for i, p := range params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.Name)
		b.WriteByte('=')
		if p.Ref != (Ref{}) {
			b.WriteString(p.Ref.String())
		} else {
			b.WriteString(p.Value)
		}
	}
	return Link(b.String())
}

// Encode writes l for a client, each Ref in it (the whole link, or a route
// parameter's value) written by id; everything else is kept as it is.
func (l Link) Encode(id func(Ref) string) string {
	s := string(l)
	if r, ok := ParseRef(s); ok {
		return id(r)
	}
	route, query, ok := strings.Cut(s, "?")
	if !ok {
		return s
	}
	params := strings.Split(query, "&")
	for i, p := range params {
		name, value, _ := strings.Cut(p, "=")
		if r, ok := ParseRef(value); ok {
			params[i] = name + "=" + id(r)
		}
	}
	return route + "?" + strings.Join(params, "&")
}
