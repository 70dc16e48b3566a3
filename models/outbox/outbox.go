package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
)

// Defaults of Config.
const (
	DefaultMaxAttempts  = 8
	DefaultBackoff      = 5 * time.Second
	DefaultMaxBackoff   = 10 * time.Minute
	DefaultPollInterval = 100 * time.Millisecond
	DefaultWorkers      = 20
	// sendTimeout bounds one channel call; a delivery claimed longer ago
	// than claimLease by a worker that never recorded its outcome (its
	// instance died mid-send) is claimed again when River rescues its job.
	sendTimeout = 30 * time.Second
	claimLease  = 2 * time.Minute
	// maxErrorLen bounds last_error.
	maxErrorLen = 500
	queue       = "outbox"
	// fetchCooldown is the shortest wait between two fetches of jobs.
	fetchCooldown = 10 * time.Millisecond
)

// Config tunes the workers. Zero fields take the defaults.
type Config struct {
	// MaxAttempts is how many times a delivery is tried before it is DEAD.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; each further one
	// doubles it (with 10% jitter), up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// PollInterval is how often an idle worker looks for deliveries: the
	// latest a committed delivery starts (River polls; see the decision).
	PollInterval time.Duration
	// Workers is how many deliveries an instance sends at once.
	Workers int
}

func (c Config) withDefaults() Config {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	return c
}

// Outbox enqueues deliveries and, once started, sends them. Every instance
// has one; any of them sends any delivery.
type Outbox struct {
	db       *models.DB
	channels map[string]Channel
	cfg      Config
	log      *slog.Logger
	river    *river.Client[*sql.Tx]
	listener *pgxpool.Pool // PostgreSQL: where River listens; nil on SQLite
}

// Concern is other work on the instance's River client, in a queue of its
// own (the scheduled jobs, see docs/decisions/0007-scheduled-jobs-on-river.md):
// one client per instance, which the outbox makes, starts and stops.
type Concern interface {
	// AddWorkers registers the concern's workers.
	AddWorkers(*river.Workers) error
	// Queue is the concern's queue and its configuration.
	Queue() (string, river.QueueConfig)
}

// New builds the outbox of an instance over db, sending through channels
// (by channel name, e.g. ChannelSMS); a channel with no entry goes to a
// LogChannel. Its River client also works the concerns' queues. It sends
// nothing until Start.
func New(db *models.DB, channels map[string]Channel, cfg Config, log *slog.Logger, concerns ...Concern) (*Outbox, error) {
	if log == nil {
		log = slog.Default()
	}
	o := &Outbox{db: db, channels: channels, cfg: cfg.withDefaults(), log: log}
	driver, err := o.riverDriver()
	if err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &worker{o: o}); err != nil {
		return nil, err
	}
	queues := map[string]river.QueueConfig{queue: {MaxWorkers: o.cfg.Workers}}
	for _, c := range concerns {
		if err := c.AddWorkers(workers); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		name, qc := c.Queue()
		if _, taken := queues[name]; taken {
			return nil, fmt.Errorf("outbox: queue %q twice", name)
		}
		queues[name] = qc
	}
	o.river, err = river.NewClient(driver, &river.Config{
		Queues:            queues,
		Workers:           workers,
		FetchPollInterval: o.cfg.PollInterval,
		// After a fetch that found work, the next may follow this soon:
		// with River's default (100 ms) an instance sends at most
		// Workers per 100 ms.
		FetchCooldown: min(o.cfg.PollInterval, fetchCooldown),
		JobTimeout:    sendTimeout,
		// Below claimLease: a job whose worker died is rescued, and its
		// delivery claimed again, a few minutes later.
		RescueStuckJobsAfter: claimLease + sendTimeout,
		MaxAttempts:          o.cfg.MaxAttempts,
		RetryPolicy:          o,
		// River's own lines about a job's failure carry the error, which
		// the worker already cleaned of the payload.
		Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return o, nil
}

// riverDriver is River's driver over the project's pool. On PostgreSQL it
// also listens on a connection of its own, so that a job committed on any
// instance wakes the workers of every instance at once (River's insert
// notification); on SQLite, one process, the workers poll.
func (o *Outbox) riverDriver() (riverdriver.Driver[*sql.Tx], error) {
	conf := o.db.QueueListenerConfig()
	if conf == nil {
		return migrations.RiverDriver(o.db.SQL, string(o.db.Dialect))
	}
	pc, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	pc.ConnConfig = conf
	pc.MinConns, pc.MaxConns = 0, 1
	// It connects only when the workers start.
	o.listener, err = pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		return nil, fmt.Errorf("outbox: listener pool: %w", err)
	}
	return riverdatabasesql.NewWithPgxListener(o.db.SQL, o.listener), nil
}

// River is the instance's River client, for the concerns (periodic jobs,
// inserts).
func (o *Outbox) River() *river.Client[*sql.Tx] { return o.river }

// Start starts this instance's workers (the outbox's and the concerns');
// they stop when ctx ends or at Stop.
func (o *Outbox) Start(ctx context.Context) error { return o.river.Start(ctx) }

// Stop waits for the deliveries being sent to finish (until ctx ends) and
// stops the workers. What is left is sent by another instance or after the
// next Start.
func (o *Outbox) Stop(ctx context.Context) error {
	err := o.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = o.river.StopAndCancel(context.Background())
	}
	if o.listener != nil {
		o.listener.Close()
	}
	return err
}

// Message is what a capability hands the outbox: one message to one owner
// (or, for a login code, one phone), sent on each of To's channels.
type Message struct {
	OwnerID        *uuid.UUID
	NotificationID *uuid.UUID
	Kind           string
	// Template names the message's text; the channel maps it to its
	// provider's template. Empty means Kind.
	Template string
	// Payload is the template's parameters.
	Payload map[string]string
	// DedupeKey makes Enqueue idempotent: a message whose key was enqueued
	// before is not enqueued again (per channel; on a channel that fans
	// out, per recipient: see deliveryKey).
	DedupeKey string
	// NotAfter, if not zero, is when the message becomes useless: it is
	// not sent after it (see Delivery.NotAfter).
	NotAfter time.Time
	// To is the recipient on each channel.
	To []Recipient
	// NotBefore, when after the transaction's time, holds the message
	// until then (quiet hours, see SendAt): River's ScheduledAt.
	NotBefore time.Time
}

// Recipient is an address on a channel.
type Recipient struct {
	Channel string
	Address string
}

// ErrInvalidMessage is returned for a message lacking a kind, key or
// recipient: a programming error of the caller.
var ErrInvalidMessage = errors.New("outbox: message needs a kind, a dedupe key and recipients with a channel and an address")

// Enqueue writes one delivery per recipient and its job, in the transaction
// in ctx (or its own): if that transaction rolls back, nothing is sent; once
// it commits, a worker sends it. It returns the deliveries written, without
// those whose dedupe key was enqueued before.
func (o *Outbox) Enqueue(ctx context.Context, m Message) ([]Delivery, error) {
	return o.EnqueueAll(ctx, []Message{m})
}

// EnqueueAll is Enqueue for many messages (a batch of notifications) at a
// fixed number of statements: one INSERT of every delivery, one read of
// which were new when some were enqueued before, and one insert of their
// jobs (River's InsertManyTx).
func (o *Outbox) EnqueueAll(ctx context.Context, ms []Message) ([]Delivery, error) {
	var out []Delivery
	err := o.db.WithTx(ctx, func(ctx context.Context) error {
		out = out[:0]
		conn := o.db.Conn(ctx)
		tx, ok := conn.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return errors.New("outbox: the transaction is not a database/sql one")
		}
		ds, scheduled, err := deliveries(ms, models.Clock(nil).Now(ctx))
		if err != nil {
			return err
		}
		res := conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(&ds)
		if res.Error != nil {
			return fmt.Errorf("outbox: write delivery: %w", res.Error)
		}
		isNew := func(uuid.UUID) bool { return true }
		if int(res.RowsAffected) < len(ds) {
			// Some were enqueued before: the rows with these ids are the new
			// ones (a skipped delivery left the earlier row, with its id).
			ids := make([]uuid.UUID, len(ds))
			for i, d := range ds {
				ids[i] = d.ID
			}
			var fresh []uuid.UUID
			if err := conn.Model(&Delivery{}).Where("id IN ?", ids).Pluck("id", &fresh).Error; err != nil {
				return fmt.Errorf("outbox: write delivery: %w", err)
			}
			written := make(map[uuid.UUID]bool, len(fresh))
			for _, id := range fresh {
				written[id] = true
			}
			isNew = func(id uuid.UUID) bool { return written[id] }
		}
		var jobs []river.InsertManyParams
		for i, d := range ds {
			if !isNew(d.ID) {
				continue
			}
			var opts *river.InsertOpts
			if !scheduled[i].IsZero() {
				opts = &river.InsertOpts{ScheduledAt: scheduled[i]}
			}
			jobs = append(jobs, river.InsertManyParams{Args: deliverArgs{ID: d.ID}, InsertOpts: opts})
			out = append(out, d)
		}
		if len(jobs) == 0 {
			return nil
		}
		if _, err := o.river.InsertManyTx(ctx, tx, jobs); err != nil {
			return fmt.Errorf("outbox: insert job: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deliveries are the rows of messages ms at now, with when each one's job
// starts (zero: at once; later: held, River's ScheduledAt).
func deliveries(ms []Message, now time.Time) ([]Delivery, []time.Time, error) {
	var ds []Delivery
	var scheduled []time.Time // each delivery's job's start, zero: at once
	for _, m := range ms {
		if m.Kind == "" || m.DedupeKey == "" || len(m.To) == 0 {
			return nil, nil, ErrInvalidMessage
		}
		payload := []byte("{}")
		if m.Payload != nil {
			var err error
			if payload, err = json.Marshal(m.Payload); err != nil {
				return nil, nil, fmt.Errorf("outbox: payload: %w", err)
			}
		}
		template := m.Template
		if template == "" {
			template = m.Kind
		}
		var notAfter *time.Time
		if !m.NotAfter.IsZero() {
			t := m.NotAfter
			notAfter = &t
		}
		at, later := now, time.Time{}
		if m.NotBefore.After(now) {
			at, later = m.NotBefore, m.NotBefore
		}
		for _, to := range m.To {
			if to.Channel == "" || to.Address == "" {
				return nil, nil, ErrInvalidMessage
			}
			ds = append(ds, Delivery{ID: models.NewID(), OwnerID: m.OwnerID, NotificationID: m.NotificationID, Kind: m.Kind,
				Channel: to.Channel, Recipient: to.Address, Template: template, Payload: string(payload),
				DedupeKey: deliveryKey(m.DedupeKey, to), Status: Pending, NextAttemptAt: at, NotAfter: notAfter})
			scheduled = append(scheduled, later)
		}
	}
	return ds, scheduled, nil
}

// fansOut lists the channels on which one message goes to several
// recipients of one owner: push, one delivery per live device.
var fansOut = map[string]bool{ChannelPush: true}

// deliveryKey is the dedupe key of m's delivery to to: the message's key
// and the channel, and on a channel that fans out also the address (a
// device id), so that each device gets the message once and none twice.
// On the other channels a message has one recipient per channel, and its
// key stays the same whatever the address (an owner who changed phone
// between two enqueues of one message is not sent it twice).
func deliveryKey(key string, to Recipient) string {
	if fansOut[to.Channel] {
		return key + ":" + to.Channel + ":" + to.Address
	}
	return key + ":" + to.Channel
}

// NextRetry is the outbox's backoff, River's retry policy: Backoff doubled
// for each attempt after the first, up to MaxBackoff, plus up to 10% jitter
// so that deliveries throttled together do not return together. River
// compares it with its own wall clock, so it is read from the real one.
func (o *Outbox) NextRetry(job *rivertype.JobRow) time.Time {
	return models.Clock(nil).Now(context.Background()).Add(o.backoff(job.Attempt))
}

func (o *Outbox) backoff(attempt int) time.Duration {
	d := o.cfg.Backoff
	for i := 1; i < attempt && d < o.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.cfg.MaxBackoff)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// deliverArgs is the job of one delivery. It carries the id only: the
// recipient and payload stay in deliveries, out of River's table and logs.
type deliverArgs struct {
	ID uuid.UUID `json:"id"`
}

// Kind names the job in River's table.
func (deliverArgs) Kind() string { return "outbox.deliver" }

// InsertOpts puts the job on the outbox's queue; one job per delivery.
func (deliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// clean is err's text for last_error and the logs: cut, and with every
// payload value of four characters or more (a login code) blanked,
// whatever a provider echoed.
func clean(err error, d *Delivery) string {
	msg := err.Error()
	var payload map[string]string
	if json.Unmarshal([]byte(d.Payload), &payload) == nil {
		for _, v := range payload {
			if len(v) >= 4 {
				msg = strings.ReplaceAll(msg, v, "***")
			}
		}
	}
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	return msg
}
