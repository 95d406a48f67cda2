package pgstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/pgstore"
	"github.com/zenkey-go/zenkey/storetest"
)

// databaseURL returns the URL in ZENKEY_TEST_POSTGRES_URL, or skips the
// test when it is unset.
func databaseURL(tb testing.TB) string {
	url := os.Getenv("ZENKEY_TEST_POSTGRES_URL")
	if url == "" {
		tb.Skip("set ZENKEY_TEST_POSTGRES_URL (e.g. " +
			"postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to test against PostgreSQL")
	}
	return url
}

// newPool returns a pool of the test database, closed when the test ends.
func newPool(tb testing.TB) *pgxpool.Pool {
	pool, err := pgxpool.New(context.Background(), databaseURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// newTable returns a table name of the test's own, and drops the table when
// the test ends.
func newTable(tb testing.TB, pool *pgxpool.Pool) string {
	table := "zenkeytest_" + strings.ToLower(rand.Text())
	tb.Cleanup(func() {
		_, err := pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+table)
		if err != nil {
			tb.Errorf("dropping the test's table: %v", err)
		}
	})
	return table
}

// newStore returns a store over pool with opts, closed when the test ends.
func newStore(tb testing.TB, pool *pgxpool.Pool, opts pgstore.Options) *pgstore.Store {
	s, err := pgstore.New(tb.Context(), pool, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// open returns a store with a pool and a table of its own.
func open(tb testing.TB) *pgstore.Store {
	pool := newPool(tb)
	return newStore(tb, pool, pgstore.Options{Table: newTable(tb, pool)})
}

func TestStore(t *testing.T) {
	databaseURL(t)
	storetest.Run(t, func(t *testing.T) zenkey.Store { return open(t) })
}

// TestTwoInstances has two stores, as two app instances would, share one
// table, each with its own pool. They start at once: both migrate.
func TestTwoInstances(t *testing.T) {
	pa, pb := newPool(t), newPool(t)
	table := newTable(t, pa)
	stores := make([]*pgstore.Store, 2)
	var wg sync.WaitGroup
	for i, pool := range []*pgxpool.Pool{pa, pb} {
		wg.Go(func() {
			s, err := pgstore.New(t.Context(), pool, pgstore.Options{Table: table})
			if err != nil {
				t.Errorf("New: %v", err)
				return
			}
			t.Cleanup(func() { s.Close() })
			stores[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	a, b := stores[0], stores[1]
	ctx := t.Context()

	r := newRecord()
	if err := a.Create(ctx, r); err != nil {
		t.Fatalf("a.Create: %v", err)
	}
	if err := b.Create(ctx, newRecordWithKey(r.Key)); !errors.Is(err, zenkey.ErrConflict) {
		t.Errorf("b.Create of a's key: %v, want ErrConflict", err)
	}

	// b takes the lease a read too: a's write is then stale.
	readA, readB := mustGet(t, a, r.Key), mustGet(t, b, r.Key)
	readB.LeaseUntil = time.Now().Add(time.Minute)
	if err := b.Update(ctx, readB); err != nil {
		t.Fatalf("b.Update: %v", err)
	}
	readA.LeaseUntil = time.Now().Add(time.Minute)
	if err := a.Update(ctx, readA); !errors.Is(err, zenkey.ErrConflict) {
		t.Errorf("a.Update of the version b replaced: %v, want ErrConflict", err)
	}
	if got := mustGet(t, a, r.Key); got.Version != readB.Version {
		t.Errorf("a reads version %d, want b's %d", got.Version, readB.Version)
	}

	// Back-channel logout through b ends what a created.
	if n, err := b.DeleteSID(ctx, r.SID); n != 1 || err != nil {
		t.Errorf("b.DeleteSID = %d, %v; want 1, nil", n, err)
	}
	if _, err := a.Get(ctx, r.Key); !errors.Is(err, zenkey.ErrNotFound) {
		t.Errorf("a.Get after b.DeleteSID: %v, want ErrNotFound", err)
	}
}

func TestNewTableName(t *testing.T) {
	bad := []string{
		"1table", "zenkey-sessions", `a"b`, "a.b", "a b", "sessions;drop",
		strings.Repeat("t", 56),
	}
	unused := new(pgxpool.Pool) // the name is refused before the pool is used
	for _, name := range bad {
		if _, err := pgstore.New(t.Context(), unused, pgstore.Options{Table: name}); err == nil {
			t.Errorf("New accepted table name %q", name)
		}
	}
	if _, err := pgstore.New(t.Context(), nil, pgstore.Options{}); err == nil {
		t.Error("New(nil pool) succeeded")
	}
}

// TestMigrate checks the schema version kept in the table's comment.
func TestMigrate(t *testing.T) {
	pool := newPool(t)
	ctx := t.Context()
	comment := func(table string) string {
		var c *string
		err := pool.QueryRow(ctx, "SELECT obj_description(to_regclass($1), 'pg_class')",
			table).Scan(&c)
		if err != nil || c == nil {
			t.Fatalf("reading the comment of %s: %v", table, err)
		}
		return *c
	}

	t.Run("Fresh", func(t *testing.T) {
		table := newTable(t, pool)
		s := newStore(t, pool, pgstore.Options{Table: table})
		if got := comment(table); got != "zenkey schema 1" {
			t.Errorf("comment %q, want %q", got, "zenkey schema 1")
		}
		if err := s.Migrate(ctx); err != nil {
			t.Errorf("Migrate again: %v", err)
		}
	})

	t.Run("SkipMigrate", func(t *testing.T) {
		table := newTable(t, pool)
		s := newStore(t, pool, pgstore.Options{Table: table, SkipMigrate: true})
		if err := s.Create(ctx, newRecord()); err == nil {
			t.Error("Create succeeded without a table")
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if err := s.Create(ctx, newRecord()); err != nil {
			t.Errorf("Create after Migrate: %v", err)
		}
	})

	refused := map[string]string{
		"Newer":   "zenkey schema 2",
		"Foreign": "billing: invoices",
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			table := newTable(t, pool)
			_, err := pool.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (key text); "+
				"COMMENT ON TABLE %[1]s IS '%s'", table, c))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pgstore.New(ctx, pool, pgstore.Options{Table: table}); err == nil {
				t.Errorf("New accepted a table commented %q", c)
			}
		})
	}
}

// TestSweep checks that Sweep deletes all ended rows, over several
// batches, and no live one.
func TestSweep(t *testing.T) {
	pool := newPool(t)
	table := newTable(t, pool)
	s := newStore(t, pool, pgstore.Options{Table: table, SweepInterval: -1})
	ctx := t.Context()

	const ended = 1234
	_, err := pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s
		SELECT md5(i::text), 1, now(), now(), now() - interval '1 second',
			now() + interval '1 hour', '', '', now(), ''
		FROM generate_series(1, %d) i`, table, ended))
	if err != nil {
		t.Fatal(err)
	}
	live := newRecord()
	if err := s.Create(ctx, live); err != nil {
		t.Fatal(err)
	}

	if n, err := s.Sweep(ctx); n != ended || err != nil {
		t.Errorf("Sweep = %d, %v; want %d, nil", n, err, ended)
	}
	mustGet(t, s, live.Key)
	if n := countRows(t, pool, table); n != 1 {
		t.Errorf("%d rows left, want 1", n)
	}
}

// TestSweeper checks that the sweeper runs on its own, and stops on Close.
func TestSweeper(t *testing.T) {
	pool := newPool(t)
	table := newTable(t, pool)
	s := newStore(t, pool, pgstore.Options{Table: table, SweepInterval: 10 * time.Millisecond})

	r := newRecord()
	r.IdleDeadline = time.Now().Add(-time.Second)
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); countRows(t, pool, table) > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not delete the ended record within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	s.Close() // a no-op
}

// BenchmarkStore measures each operation alone; see storetest.Benchmark.
func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open(b)) }

// countRows returns how many rows table has.
func countRows(tb testing.TB, pool *pgxpool.Pool, table string) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(tb.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// newRecord returns a live record with random key, subject and sid, and a
// blob the size of a typical session's.
func newRecord() *zenkey.Record {
	return newRecordWithKey(randomHex())
}

// newRecordWithKey returns a live record with the key.
func newRecordWithKey(key string) *zenkey.Record {
	now := time.Now()
	return &zenkey.Record{
		Key:              key,
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(time.Hour),
		AbsoluteDeadline: now.Add(24 * time.Hour),
		Subject:          randomHex(),
		SID:              randomHex(),
		Blob:             []byte(rand.Text() + rand.Text()),
	}
}

// randomHex returns 64 random hex characters, the shape of a key.
func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// mustGet returns the record with the key, or ends the test.
func mustGet(tb testing.TB, s zenkey.Store, key string) *zenkey.Record {
	tb.Helper()
	r, err := s.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get: %v", err)
	}
	return r
}
