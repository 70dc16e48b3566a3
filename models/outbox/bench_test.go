package outbox_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// BenchmarkEnqueue is one Enqueue of one SMS in its own transaction, no
// worker running: its time, and the GORM statements it adds (River's job
// insert goes through the same *sql.Tx but not through GORM: one more
// statement, not counted here).
func BenchmarkEnqueue(b *testing.B) {
	db := testdb.Open(b)
	o, err := outbox.New(db, nil, outbox.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	before := db.Statements()
	b.ResetTimer()
	for range b.N {
		if _, err := o.Enqueue(ctx, message()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(db.Statements()-before)/float64(b.N), "gorm-stmts/enqueue")
}

// BenchmarkDeliveries measures, on the database under test, how fast one
// instance's outbox with its default configuration sends through Alibaba
// Cloud's API to the fake gateway: b.N deliveries are committed while no
// worker runs, then the workers start, and the clock runs until the gateway
// has accepted them all.
func BenchmarkDeliveries(b *testing.B) {
	o, fake := smsOutbox(b)
	ctx := context.Background()
	for range b.N {
		if _, err := o.Enqueue(ctx, message()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	if err := o.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = o.Stop(context.Background()) }()
	for fake.Accepted() < b.N {
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("%d of %d sent after two minutes", fake.Accepted(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

// BenchmarkLatency is the time from the commit of one enqueued SMS to the
// gateway accepting it, with the workers idle and polling (the case of a
// login code): the default poll interval bounds it.
func BenchmarkLatency(b *testing.B) {
	o, fake := smsOutbox(b)
	ctx := context.Background()
	if err := o.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = o.Stop(context.Background()) }()
	b.ResetTimer()
	for i := range b.N {
		if _, err := o.Enqueue(ctx, message()); err != nil {
			b.Fatal(err)
		}
		for fake.Accepted() <= i {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// smsOutbox is an outbox with the default configuration on a fresh
// database, sending SMS through Alibaba Cloud's API to a fake gateway.
func smsOutbox(b *testing.B) (*outbox.Outbox, *authtest.AliyunSMS) {
	b.Helper()
	ch, fake := aliyunFor(b)
	o, err := outbox.New(testdb.Open(b), map[string]outbox.Channel{outbox.ChannelSMS: ch}, outbox.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return o, fake
}
