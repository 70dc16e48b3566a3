// Package graph is the GraphQL layer: the schema (schema/*.graphqls), gqlgen's
// generated code, and thin resolvers that read the caller from the context,
// call one domain operation and map its result.
package graph

import (
	"log/slog"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/auth/signin"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/jobs"
	"github.com/ownerhub/ownerhub/models/packages"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/referrals"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/wechat"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Resolver holds the services resolvers call; nothing else.
type Resolver struct {
	// DB is the database live subscriptions listen on.
	DB            *models.DB
	Directory     *directory.Service
	Inbox         *inbox.Service
	SignIn        *signin.Service
	Workshop      *workshop.Service
	Wallet        *wallet.Service
	Booking       *booking.Service
	EventsService *events.Service
	Roadside      *roadside.Service
	Coupons       *coupons.Service
	Referrals     *referrals.Service
	Packages      *packages.Service
	Care          *care.Service
	CRM           *crm.Service
	// Jobs is the scheduled-job runner (its jobs' last runs for managers).
	Jobs *jobs.Runner
	// Privacy runs the owners' data rights (consent, export, deletion).
	Privacy *privacy.Service
	// Push keeps the owners' devices.
	Push *push.Registry
	// Payments is online payment (WeChat Pay).
	Payments *payments.Service
	// WeChat is the mini-program's subscription messages.
	WeChat *wechat.Service
	// Tokens signs the bearer tokens of workshop screens.
	Tokens *auth.Tokens
	Log    *slog.Logger
}

// settingsOut is the owner's notification settings as the schema lists them.
func settingsOut(in []inbox.Setting) []*inbox.Setting {
	out := make([]*inbox.Setting, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	return out
}
