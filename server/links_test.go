package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// TestNotificationLinksAsBefore: for every kind of notification, the link
// the owner reads in the inbox and in the data export (GraphQL and REST) is
// the text the domain wrote before it linked with references: the global
// ID of what it opens, or the app route with global IDs in it. Each global
// ID decodes to the object the domain named.
func TestNotificationLinksAsBefore(t *testing.T) {
	s := newE2EServer(t)
	sess, owner, _ := pvOwner(t, s)
	ctx := context.Background()
	order, appt, event, reg, req, complaint, store, car := models.NewID(), models.NewID(), models.NewID(), models.NewID(),
		models.NewID(), models.NewID(), models.NewID(), models.NewID()
	type ref struct {
		typ string
		id  uuid.UUID
	}
	cases := []struct {
		kind  string
		link  models.Link
		want  string
		names []ref
	}{
		{workshop.NotifyApprovalNeeded, workshop.OrderLink(order), pvGID("RepairOrder", order), []ref{{"RepairOrder", order}}},
		{workshop.NotifyReadyForPickup, workshop.OrderLink(order), pvGID("RepairOrder", order), []ref{{"RepairOrder", order}}},
		{care.NotifySurveyInvitation, workshop.OrderLink(order), pvGID("RepairOrder", order), []ref{{"RepairOrder", order}}},
		{care.NotifyComplaintUpdate, care.ComplaintLink(complaint), pvGID("Complaint", complaint), []ref{{"Complaint", complaint}}},
		{booking.NotifyAppointmentReminder, booking.AppointmentLink(appt), pvGID("Appointment", appt), []ref{{"Appointment", appt}}},
		{events.NotifyEventCancelled, events.EventLink(event), pvGID("Event", event), []ref{{"Event", event}}},
		{events.NotifyEventReminder, events.EventLink(event), pvGID("Event", event), []ref{{"Event", event}}},
		{events.NotifyPromoted, events.RegistrationLink(reg), pvGID("Registration", reg), []ref{{"Registration", reg}}},
		{events.NotifyPromotionFailed, events.RegistrationLink(reg), pvGID("Registration", reg), []ref{{"Registration", reg}}},
		{roadside.NotifyAccepted, roadside.RequestLink(req), pvGID("AssistanceRequest", req), []ref{{"AssistanceRequest", req}}},
		{reminders.KindInsuranceExpiring, reminders.VehicleLink(car), pvGID("Vehicle", car), []ref{{"Vehicle", car}}},
		{reminders.KindMaintenanceDue, reminders.BookLink(store, car, "MAINTENANCE"),
			"book?storeId=" + pvGID("Store", store) + "&vehicleId=" + pvGID("Vehicle", car) + "&kind=MAINTENANCE",
			[]ref{{"Store", store}, {"Vehicle", car}}},
		{reminders.KindBirthday, reminders.MembershipLink, "membership", nil},
	}
	want := map[string]string{}
	for _, c := range cases {
		if _, err := s.App.Inbox.CreateNotification(ctx, &inbox.Notification{OwnerID: owner, Kind: c.kind, Title: c.kind, Link: c.link}); err != nil {
			t.Fatal(err)
		}
		want[c.kind] = c.want
		// Decode what the test expects, so that it says what it means.
		var gids []string
		if _, q, ok := strings.Cut(c.want, "?"); ok {
			for _, p := range strings.Split(q, "&") {
				if k, v, _ := strings.Cut(p, "="); k == "storeId" || k == "vehicleId" {
					gids = append(gids, v)
				}
			}
		} else if c.names != nil {
			gids = []string{c.want}
		}
		if len(gids) != len(c.names) {
			t.Fatalf("%s: %d global IDs in %q", c.kind, len(gids), c.want)
		}
		for i, g := range gids {
			raw, err := base64.RawURLEncoding.DecodeString(g)
			if err != nil || string(raw) != c.names[i].typ+":"+c.names[i].id.String() {
				t.Fatalf("%s: %q decodes to %q (%v)", c.kind, g, raw, err)
			}
		}
	}

	got := map[string]string{}
	d := s.gql(t, sess.Access, `{ me { notifications(first: 50) { edges { node { kind link } } } } }`, nil)
	for _, e := range dig(d, "me", "notifications", "edges").([]any) {
		got[dig(e, "node", "kind").(string)] = dig(e, "node", "link").(string)
	}
	check := func(where string, got map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: %d links; want %d", where, len(got), len(want))
		}
		for kind, w := range want {
			if got[kind] != w {
				t.Errorf("%s: %s links %q; before %q", where, kind, got[kind], w)
			}
		}
	}
	check("inbox", got)

	exported := func(doc []byte) map[string]string {
		var v struct {
			Sections struct {
				Notifications []struct {
					Kind string `json:"kind"`
					Link string `json:"link"`
				} `json:"notifications"`
			} `json:"sections"`
		}
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range v.Sections.Notifications {
			out[n.Kind] = n.Link
		}
		return out
	}
	check("GraphQL export", exported([]byte(dig(s.gql(t, sess.Access, pvExportDoc, nil), "exportMyData", "document").(string))))
	resp, raw := httpCall(t, nil, http.MethodGet, s.URL+"/api/v1/me/export", nil, map[string]string{"Authorization": "Bearer " + sess.Access})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("REST export: %d %s", resp.StatusCode, raw)
	}
	check("REST export", exported(raw))
}
