package sqlitestore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/sqlitestore"
	"github.com/zenkey-go/zenkey/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) zenkey.Store {
		return openStore(t, filepath.Join(privateDir(t), "zenkey.db"))
	})
}

func TestSweep(t *testing.T) {
	s := openStore(t, filepath.Join(privateDir(t), "zenkey.db"))
	ctx := t.Context()
	const ended = 1234 // more than two batches
	for range ended {
		if err := s.Create(ctx, newRecord(-time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	live := newRecord(time.Hour)
	if err := s.Create(ctx, live); err != nil {
		t.Fatal(err)
	}

	n, err := s.Sweep(ctx)
	if err != nil || n != ended {
		t.Errorf("Sweep = %d, %v; want %d, nil", n, err, ended)
	}
	if _, err := s.Get(ctx, live.Key); err != nil {
		t.Errorf("Get of the live record after Sweep: %v", err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(privateDir(t), "zenkey.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecord(time.Hour)
	if err := s.Create(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	got, err := s.Get(t.Context(), r.Key)
	if err != nil {
		t.Fatalf("Get after reopening: %v", err)
	}
	if got.Version != 1 || string(got.Blob) != string(r.Blob) {
		t.Errorf("Get after reopening = version %d, blob %q; want 1, %q",
			got.Version, got.Blob, r.Blob)
	}
}

// BenchmarkStore measures each operation alone; see storetest.Benchmark.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, openStore(b, filepath.Join(privateDir(b), "zenkey.db")))
}

func BenchmarkGet(b *testing.B) {
	const n = 10_000
	s := openStore(b, filepath.Join(privateDir(b), "zenkey.db"))
	keys := make([]string, n)
	for i := range keys {
		r := newRecord(time.Hour)
		if err := s.Create(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		keys[i] = r.Key
	}
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := s.Get(context.Background(), keys[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			i := next.Add(7919)
			for pb.Next() {
				if _, err := s.Get(context.Background(), keys[i%n]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}

// privateDir returns a new directory that only its owner can use.
func privateDir(tb testing.TB) string {
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func openStore(tb testing.TB, path string) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// newRecord returns a record with a random key and a 1 KiB blob whose idle
// deadline is idle from now: in the past when idle is negative.
func newRecord(idle time.Duration) *zenkey.Record {
	now := time.Now()
	return &zenkey.Record{
		Key:              randomHex(),
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(idle),
		AbsoluteDeadline: now.Add(24 * time.Hour),
		Subject:          randomHex(),
		SID:              randomHex(),
		Blob:             randomBytes(1024),
	}
}

func randomHex() string {
	return hex.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
