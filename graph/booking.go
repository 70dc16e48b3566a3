package graph

import (
	"github.com/ownerhub/ownerhub/graph/model"
	"github.com/ownerhub/ownerhub/models/booking"
)

func calendarPayload(ch *booking.CalendarChange, ues []*model.UserError) *model.CalendarPayload {
	p := &model.CalendarPayload{Conflicts: []*booking.Appointment{}, UserErrors: ues}
	if ch != nil {
		p.Calendar = ch.Calendar
		if ch.Conflicts != nil {
			p.Conflicts = ch.Conflicts
		}
	}
	return p
}
