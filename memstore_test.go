package zenkey_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) zenkey.Store {
		return newMemoryStore(t)
	})
}

// TestMemoryStoreSweep fills every shard with live and ended records, some
// sharing index values, and checks that Sweep removes exactly the ended
// records and their index entries.
func TestMemoryStoreSweep(t *testing.T) {
	m := newMemoryStore(t)
	ctx := t.Context()
	const n = 30_000 // over 100 records in every shard
	const subject, sid = "shared subject", "shared sid"
	var live []string
	for i := range n {
		r := memRecord(i, i%3 == 0)
		if i%1000 == 0 {
			r.Subject, r.SID = subject, sid
		}
		if err := m.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			live = append(live, r.Key)
		}
	}

	if got, want := m.Sweep(), n-len(live); got != want {
		t.Errorf("Sweep removed %d records, want %d", got, want)
	}
	if got := m.Len(); got != len(live) {
		t.Errorf("Len after Sweep = %d, want %d", got, len(live))
	}
	for _, key := range live {
		if _, err := m.Get(ctx, key); err != nil {
			t.Fatalf("Get of a live record after Sweep: %v", err)
		}
	}

	// Of the records filed under subject and sid, every third was live.
	wantIndexed := (n/1000 + 2) / 3
	if got, _ := m.DeleteSubject(ctx, subject); got != wantIndexed {
		t.Errorf("DeleteSubject after Sweep removed %d, want %d", got, wantIndexed)
	}
	if got, _ := m.DeleteSID(ctx, sid); got != 0 {
		t.Errorf("DeleteSID after DeleteSubject and Sweep removed %d, want 0", got)
	}
	if got, want := m.Len(), len(live)-wantIndexed; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}

// BenchmarkMemoryStoreFootprint reports the heap a million records with
// 1 KiB blobs take: the target is well under 2 GiB, 2147 bytes a record.
// BenchmarkMemoryStore measures each operation alone; see
// storetest.Benchmark.
func BenchmarkMemoryStore(b *testing.B) {
	s := zenkey.NewMemoryStore()
	b.Cleanup(func() { s.Close() })
	storetest.Benchmark(b, s)
}

func BenchmarkMemoryStoreFootprint(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		before := memHeapAlloc()
		m := fillMemoryStore(b, n, 1024, true)
		m.keys = nil // the store keeps copies
		b.ReportMetric(float64(memHeapAlloc()-before)/n, "B/record")
		m.Close()
	}
}

// BenchmarkMemoryStoreGet reads random records of 100,000, with blobs of
// 1 KiB and with none: copying the blob out is most of what a Get costs.
func BenchmarkMemoryStoreGet(b *testing.B) {
	const n = 100_000
	for _, blob := range []int{1024, 0} {
		m := fillMemoryStore(b, n, blob, true)
		b.Run(fmt.Sprintf("Blob%d/Serial", blob), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := m.Get(context.Background(), m.keys[i%n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(fmt.Sprintf("Blob%d/Parallel", blob), func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(7919)
				for pb.Next() {
					if _, err := m.Get(context.Background(), m.keys[i%n]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
		m.Close()
	}
}

// BenchmarkMemoryStoreSweep sweeps a million records, half of them ended,
// while another goroutine reads, and reports the longest Get it saw and how
// many Gets took over a millisecond. Idle reports the same for a reader
// alone, for how much of that is the machine's own noise. The collector is
// off meanwhile, as its pauses are not the sweep's.
func BenchmarkMemoryStoreSweep(b *testing.B) {
	for _, sweep := range []bool{false, true} {
		name := map[bool]string{false: "Idle", true: "Sweeping"}[sweep]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				m := fillMemoryStore(b, 1_000_000, 0, false)
				runtime.GC()
				defer debug.SetGCPercent(debug.SetGCPercent(-1))
				stop, done := make(chan struct{}), make(chan memReaderStats)
				go memReadUntil(m, stop, done)
				b.StartTimer()

				if sweep {
					m.Sweep()
				} else {
					time.Sleep(time.Second)
				}

				b.StopTimer()
				close(stop)
				stats := <-done
				b.ReportMetric(float64(stats.longest.Microseconds()), "µs-longest-get")
				b.ReportMetric(float64(stats.slow), "gets-over-1ms")
				m.Close()
				b.StartTimer()
			}
		})
	}
}

type memReaderStats struct {
	longest time.Duration
	slow    int
}

// memReadUntil reads the store's records in turn until stop is closed, and
// then sends what it saw.
func memReadUntil(m *memFilledStore, stop <-chan struct{}, done chan<- memReaderStats) {
	var stats memReaderStats
	for i := 0; ; i++ {
		select {
		case <-stop:
			done <- stats
			return
		default:
		}
		start := time.Now()
		m.Get(context.Background(), m.keys[i%len(m.keys)])
		d := time.Since(start)
		stats.longest = max(stats.longest, d)
		if d > time.Millisecond {
			stats.slow++
		}
	}
}

type memFilledStore struct {
	*zenkey.MemoryStore
	keys []string
}

// fillMemoryStore returns a store of n records with blobs of the given
// size, all live, or every other one ended, and the records' keys.
func fillMemoryStore(tb testing.TB, n, blob int, allLive bool) *memFilledStore {
	tb.Helper()
	m := &memFilledStore{MemoryStore: zenkey.NewMemoryStore(), keys: make([]string, n)}
	tb.Cleanup(func() { m.Close() })
	for i := range n {
		r := memRecord(i, allLive || i%2 == 0)
		r.Blob = make([]byte, blob)
		if err := m.Create(context.Background(), r); err != nil {
			tb.Fatal(err)
		}
		m.keys[i] = r.Key
	}
	return m
}

func newMemoryStore(t *testing.T) *zenkey.MemoryStore {
	m := zenkey.NewMemoryStore()
	t.Cleanup(func() { m.Close() })
	return m
}

// memRecord returns record number i of a test: with a key made from i, a
// subject and an SID made from the key, and live or already ended.
func memRecord(i int, live bool) *zenkey.Record {
	now := time.Now()
	deadline := now.Add(time.Hour)
	if !live {
		deadline = now.Add(-time.Second)
	}
	key := fmt.Sprintf("%064x", i)
	return &zenkey.Record{
		Key:              key,
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     deadline,
		AbsoluteDeadline: now.Add(24 * time.Hour),
		Subject:          "s" + key[1:],
		SID:              "i" + key[1:],
	}
}

func memHeapAlloc() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}
