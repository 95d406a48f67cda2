package sqlitestore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/sqlitestore"
)

// The scale benchmark checks that a Get costs about the same in a store of
// a million sessions as in one of ten thousand (DESIGN §7: one store read
// per request, whatever the store's size). Without ZENKEY_SCALE=1 only the
// small store runs; with it, the million-row file (about 2 GB) is built
// first, which takes a minute or two:
//
//	ZENKEY_SCALE=1 go test -run '^$' -bench Scale -benchtime 2s ./sqlitestore/
//
// docs/performance.md records what it measured.

// scaleBlob is the size of a real sealed session (a login through a
// zenkeytest provider, with a refresh token): the root package's
// TestMemoryStoreScaleFootprint logs it.
const scaleBlob = 1344

// scaleStore is a store filled with rows, all live, and their keys.
type scaleStore struct {
	*sqlitestore.Store
	keys []string
}

func BenchmarkScaleGet(b *testing.B) {
	small := openScaleStore(b, 10_000)
	b.Run("rows=10k", func(b *testing.B) { benchScaleGets(b, small) })
	if os.Getenv("ZENKEY_SCALE") != "1" {
		b.Log("set ZENKEY_SCALE=1 to compare with a million rows")
		return
	}
	big := openScaleStore(b, 1_000_000)
	b.Run("rows=1M", func(b *testing.B) { benchScaleGets(b, big) })

	// Rounds that alternate between the two stores, so that the machine's
	// drift affects both alike: the ratio is the figure to judge.
	b.Run("1M-vs-10k", func(b *testing.B) {
		rng := mrand.New(mrand.NewPCG(1, 2))
		round := func(s *scaleStore) time.Duration {
			start := time.Now()
			for range 500 {
				scaleGet(b, s, rng)
			}
			return time.Since(start)
		}
		round(small)
		round(big) // warm up
		var smallTime, bigTime time.Duration
		n := 0
		for b.Loop() {
			smallTime += round(small)
			bigTime += round(big)
			n += 500
		}
		b.ReportMetric(float64(bigTime)/float64(smallTime), "x-10k")
		b.ReportMetric(float64(smallTime.Nanoseconds())/float64(n), "10k-ns/get")
		b.ReportMetric(float64(bigTime.Nanoseconds())/float64(n), "1M-ns/get")
	})
}

// benchScaleGets reads random live records of s.
func benchScaleGets(b *testing.B, s *scaleStore) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	b.ReportAllocs()
	for b.Loop() {
		scaleGet(b, s, rng)
	}
}

func scaleGet(b *testing.B, s *scaleStore, rng *mrand.Rand) {
	if _, err := s.Get(context.Background(), s.keys[rng.IntN(len(s.keys))]); err != nil {
		b.Fatal(err)
	}
}

// TestScaleFill checks the bulk fill that the scale benchmark relies on:
// rows copied with SQL from one record the Store wrote read back through
// the Store as equal records under their own keys.
func TestScaleFill(t *testing.T) {
	s := openScaleStore(t, 2_000)
	if len(s.keys) != 2_000 {
		t.Fatalf("%d keys, want 2000", len(s.keys))
	}
	ctx := t.Context()
	for _, key := range s.keys[:50] {
		r, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get of a filled row: %v", err)
		}
		if r.Key != key || r.Version != 1 || len(r.Blob) != scaleBlob || len(r.Subject) != 64 ||
			len(r.SID) != 64 || !r.Live(time.Now()) {
			t.Fatalf("filled row = %+v, want a live record like the template", r)
		}
	}
}

// openScaleStore opens a store in a new file and fills it with n live
// records shaped like sessions: a 64-hex-digit key, subject and sid each,
// and a blob the size of a real one. Writing a million records through the
// Store, one transaction each, would take an hour; instead the Store writes
// one, and a single SQL transaction copies it under new random keys,
// subjects and sids, so the rows keep whatever encoding the Store uses.
func openScaleStore(tb testing.TB, n int) *scaleStore {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "private", "zenkey.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })

	now := time.Now()
	blob := make([]byte, scaleBlob)
	rand.Read(blob)
	template := &zenkey.Record{
		Key: scaleHex(), Created: now, LastSeen: now, IdleDeadline: now.Add(24 * time.Hour),
		AbsoluteDeadline: now.Add(24 * time.Hour), Subject: scaleHex(), SID: scaleHex(), Blob: blob,
	}
	if err := s.Create(context.Background(), template); err != nil {
		tb.Fatal(err)
	}
	keys, err := scaleCopy(path, template.Key, n-1)
	if err != nil {
		tb.Fatal(err)
	}
	return &scaleStore{Store: s, keys: append(keys, template.Key)}
}

// scaleCopy inserts n copies of the record with the key template into the
// database file at path, in one transaction, and returns every key.
func scaleCopy(path, template string, n int) ([]string, error) {
	// A large page cache keeps the random inserts into the indexes in
	// memory; the file is the test's own, so losing it to a crash is fine.
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=rw&_txlock=immediate&" +
		"_pragma=busy_timeout(5000)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	const copyRows = `WITH RECURSIVE seq(i) AS
		(SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
	INSERT INTO records (key, version, created, last_seen, idle_deadline, absolute_deadline,
		subject, sid, lease_until, blob)
	SELECT lower(hex(randomblob(32))), version, created, last_seen, idle_deadline,
		absolute_deadline, lower(hex(randomblob(32))), lower(hex(randomblob(32))), lease_until, blob
	FROM seq, records WHERE records.key = ?`
	if _, err := tx.ExecContext(ctx, copyRows, n, template); err != nil {
		return nil, fmt.Errorf("copying the template record: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}

	rows, err := db.QueryContext(ctx, "SELECT key FROM records WHERE key <> ?", template)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := make([]string, 0, n+1)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func scaleHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
