// Package inbox is the owner's inbox: capabilities put notifications in it,
// inside their own transaction, and the owner reads them and marks them
// read.
package inbox

import (
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/wechat"
)

// Service runs the inbox on a database.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Inside a
	// transaction a notification carries the transaction's time.
	Clock models.Clock
	// Directory reads the owner a message goes to (nil: one on DB).
	Directory *directory.Service
	// Outbox, when set, carries each notification beyond the inbox, on
	// the channels its rules allow (see Routing); nil: the inbox only.
	Outbox  *outbox.Outbox
	Routing Routing
	// WeChat holds owners' subscription message permissions; nil: no
	// message goes by WeChat.
	WeChat *wechat.Service
	// Devices is the owners' push devices (nil: a registry on DB).
	Devices *push.Registry
}

// Or is s, or, when s is nil, a Service on db with clock c: a capability
// whose Inbox is not wired writes through its own database and clock.
func (s *Service) Or(db *models.DB, c models.Clock) *Service {
	if s != nil {
		return s
	}
	return &Service{DB: db, Clock: c}
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// devices is the wired registry, or one on the service's database.
func (s *Service) devices() *push.Registry {
	if s.Devices != nil {
		return s.Devices
	}
	return &push.Registry{DB: s.DB}
}
