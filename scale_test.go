package zenkey_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// The scale tests check DESIGN §7's targets for the in-memory store: a
// million sessions in under 2 GiB, and an expiry sweep that never blocks a
// request for more than a millisecond. Their quick variants always run;
// the million-record runs need ZENKEY_SCALE=1 (about a minute, 3 GiB):
//
//	ZENKEY_SCALE=1 go test -run 'Scale' -v .
//
// docs/performance.md records what they measured.

// scaleTarget is the memory target per session: 2 GiB for a million.
const scaleTarget = float64(2<<30) / 1_000_000

// scaleOn reports whether the million-record runs are asked for.
func scaleOn() bool { return os.Getenv("ZENKEY_SCALE") == "1" }

// TestMemoryStoreScaleFootprint fills a MemoryStore with records shaped
// like real sessions (the blob, subject and sid of a real login through a
// zenkeytest provider) and reports the heap each takes.
//
// A real sealed session is about 1.3 KiB (the id_token is most of it; its
// claims are kept only inside it), which lands in Go's 1,408-byte size
// class. The quick run asserts the target for 50,000 real sessions and for
// 1 KiB blobs, which guards the store's own overhead against growth; with
// ZENKEY_SCALE=1 a million real sessions must meet it too.
func TestMemoryStoreScaleFootprint(t *testing.T) {
	if zenkey.RaceOn() {
		t.Skip("the race detector changes the heap's shape: run without -race")
	}
	session := scaleRealSession(t)
	t.Logf("a real sealed session: blob %d B, subject %d B, sid %d B",
		len(session.Blob), len(session.Subject), len(session.SID))

	oneKiB := *session
	oneKiB.Blob = bytes.Repeat([]byte{0xa5}, 1024)
	per, total := scaleFootprint(50_000, &oneKiB)
	t.Logf("50,000 records, 1 KiB blobs: %.0f B/record (%.1f MiB)", per, total/(1<<20))
	if per >= scaleTarget {
		t.Errorf("%.0f B/record with 1 KiB blobs, want under %.0f (2 GiB a million)", per,
			scaleTarget)
	}
	per, total = scaleFootprint(50_000, session)
	t.Logf("50,000 real sessions: %.0f B/record (%.1f MiB)", per, total/(1<<20))
	if per >= scaleTarget {
		t.Errorf("%.0f B/record for real sessions, want under %.0f (2 GiB a million)", per,
			scaleTarget)
	}

	if !scaleOn() {
		return
	}
	per, total = scaleFootprint(1_000_000, session)
	t.Logf("1,000,000 real sessions: %.0f B/record, %.2f GiB of heap", per, total/(1<<30))
	if per >= scaleTarget {
		t.Errorf("a million real sessions take %.2f GiB, want under 2 GiB (%.0f B/record, "+
			"the blob alone %d B)", total/(1<<30), per, len(session.Blob))
	}
}

// scaleFootprint fills a new store with n copies of like, each under its
// own key, subject and sid, and returns the heap growth per record and in
// all, measured after a collection.
func scaleFootprint(n int, like *zenkey.Record) (perRecord, total float64) {
	before := scaleHeap()
	m := zenkey.NewMemoryStore()
	defer m.Close()
	scaleFill(m, n, like, func(int) bool { return true })
	after := scaleHeap()
	runtime.KeepAlive(m)
	total = float64(after) - float64(before)
	return total / float64(n), total
}

// scaleFill creates n records like like in m, record i live when live(i)
// and ended a second ago otherwise. Keys, subjects and sids are 64 hex
// digits, as the middleware writes them.
func scaleFill(m *zenkey.MemoryStore, n int, like *zenkey.Record, live func(i int) bool) {
	now := time.Now()
	for i := range n {
		r := *like
		r.Key = scaleKey(i)
		r.Subject = fmt.Sprintf("5%063x", i)
		r.SID = fmt.Sprintf("d%063x", i)
		r.Created, r.LastSeen = now, now
		r.IdleDeadline, r.AbsoluteDeadline = now.Add(time.Hour), now.Add(12*time.Hour)
		if !live(i) {
			r.IdleDeadline = now.Add(-time.Second)
		}
		if err := m.Create(context.Background(), &r); err != nil {
			panic(err) // keys are unique: cannot happen
		}
	}
}

func scaleKey(i int) string { return fmt.Sprintf("%064x", i) }

// scaleHeap returns the live heap after a full collection.
func scaleHeap() uint64 {
	runtime.GC()
	runtime.GC() // the first may leave finalizer-held memory behind
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}

// scaleRealSession signs a browser in through a zenkeytest provider, as in
// production (carrier discovery, code exchange, a verified RS256 id_token
// with a refresh token), and returns the session record the middleware
// created.
func scaleRealSession(t *testing.T) *zenkey.Record {
	t.Helper()
	const clientID, clientSecret = "scale-client", "scale-secret"
	idp := zenkeytest.NewTLSServer(zenkeytest.Config{ClientID: clientID,
		ClientSecret: clientSecret})
	defer idp.Close()

	store := &scaleCapture{Store: zenkey.NewMemoryStore()}
	mux := http.NewServeMux()
	app := httptest.NewUnstartedServer(mux)
	zk, err := zenkey.New(zenkey.Options{
		ClientID:       clientID,
		ClientSecret:   clientSecret,
		RedirectURL:    "https://" + app.Listener.Addr().String() + "/auth/callback",
		SecretKey:      bytes.Repeat([]byte("k"), 32),
		DiscoveryUIURL: idp.DiscoveryUIURL,
		DiscoveryURL:   idp.DiscoveryURL,
		Store:          store,
		HTTPClient:     idp.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", zk.Handler(http.NotFoundHandler()))
	app.StartTLS()
	defer app.Close()

	// httptest's TLS servers share one certificate: the app's client trusts
	// the provider too.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Transport: app.Client().Transport, Jar: jar}
	resp, err := browser.Get(app.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := store.session(); s != nil {
		return s
	}
	t.Fatalf("login ended with %s at %s and stored no session", resp.Status, resp.Request.URL.Path)
	return nil
}

// scaleCapture keeps a copy of the last session record created through it.
type scaleCapture struct {
	zenkey.Store
	mu   sync.Mutex
	last *zenkey.Record
}

func (c *scaleCapture) Create(ctx context.Context, r *zenkey.Record) error {
	if r.Subject != "" { // pending logins carry no subject
		c.mu.Lock()
		cp := *r
		cp.Blob = bytes.Clone(r.Blob)
		c.last = &cp
		c.mu.Unlock()
	}
	return c.Store.Create(ctx, r)
}

func (c *scaleCapture) session() *zenkey.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// TestMemoryStoreScaleSweep sweeps a store in which half the records have
// ended while a reader Gets live records, and compares the reader's
// latencies with those of the same reader on the same store while another
// goroutine keeps the other core busy for as long without touching the
// store: on a small VM both cores busy is what brings the machine's own
// stalls (a few milliseconds, from the hypervisor and other processes), so
// that baseline shows which of the reader's stalls are the sweep's.
//
// Each round refills the ended half. The figure judged is the best round's
// worst Get beyond the best baseline round's worst: noise rarely hits every
// round, while a lock the sweep held too long would. The bound is generous
// in the quick run (it shares two cores with other packages' tests, maybe
// under -race) but still fails a sweep that holds one lock throughout; with
// ZENKEY_SCALE=1 a million records are swept against the 1 ms target.
func TestMemoryStoreScaleSweep(t *testing.T) {
	n, rounds, bound := 100_000, 3, 20*time.Millisecond
	if scaleOn() {
		n, bound = 1_000_000, time.Millisecond
	}
	if zenkey.RaceOn() {
		n, rounds, bound = 20_000, 2, 50*time.Millisecond
	}
	// The store's own sweeper is stopped: Sweep is called here alone.
	m := zenkey.NewMemoryStore()
	m.Close()
	live := func(i int) bool { return i%2 == 0 }
	scaleFill(m, n, &zenkey.Record{}, live)
	liveKeys := make([]string, 0, n/2)
	for i := 0; i < n; i += 2 {
		liveKeys = append(liveKeys, scaleKey(i))
	}

	// The collector is off while measuring: its pauses are not the sweep's.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	var sweeping, idle []scaleLatencies
	for round := range rounds {
		if round > 0 {
			scaleRefillEnded(m, n)
		}
		var removed int
		var took time.Duration
		s := scaleReadWhile(m, liveKeys, func() {
			start := time.Now()
			removed = m.Sweep()
			took = time.Since(start)
		})
		if removed != n/2 {
			t.Fatalf("Sweep removed %d records, want %d", removed, n/2)
		}
		s.sweep = took
		sweeping = append(sweeping, s)
		idle = append(idle, scaleReadWhile(m, liveKeys, func() { scaleBusy(took) }))
		runtime.GC()
	}

	for i := range sweeping {
		t.Logf("round %d: sweep of %d records (%d ended) took %v\n\tGets while sweeping: %v\n"+
			"\tGets while busy:     %v", i+1, n, n/2, sweeping[i].sweep.Round(time.Microsecond),
			sweeping[i], idle[i])
	}
	byWorst := func(a, b scaleLatencies) int { return int(a.worst - b.worst) }
	best, noise := slices.MinFunc(sweeping, byWorst).worst, slices.MinFunc(idle, byWorst).worst
	if best-noise > bound {
		t.Errorf("every round saw a Get blocked for %v during the sweep, more than %v beyond "+
			"the %v seen without a sweep", best, bound, noise)
	}
}

// scaleBusy keeps one core busy for d without touching any store.
func scaleBusy(d time.Duration) {
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := range 1000 {
			x += i * i
		}
	}
	runtime.KeepAlive(x)
}

// scaleRefillEnded creates again the ended records a sweep removed.
func scaleRefillEnded(m *zenkey.MemoryStore, n int) {
	now := time.Now()
	for i := 1; i < n; i += 2 {
		err := m.Create(context.Background(), &zenkey.Record{
			Key: scaleKey(i), Subject: fmt.Sprintf("5%063x", i), SID: fmt.Sprintf("d%063x", i),
			Created: now, LastSeen: now, IdleDeadline: now.Add(-time.Second),
			AbsoluteDeadline: now.Add(12 * time.Hour),
		})
		if err != nil {
			panic(err)
		}
	}
}

// scaleLatencies summarises the Gets a reader made.
type scaleLatencies struct {
	gets         int
	p50, p999    time.Duration
	worst        time.Duration
	overOneMilli int
	sweep        time.Duration
}

func (l scaleLatencies) String() string {
	return fmt.Sprintf("%d, p50 %v, p99.9 %v, worst %v, %d over 1ms",
		l.gets, l.p50, l.p999, l.worst.Round(time.Microsecond), l.overOneMilli)
}

// scaleReadWhile runs work while one goroutine Gets keys in turn, and
// returns the latencies of the Gets that goroutine made meanwhile. They are
// kept in a histogram of 1 µs buckets up to 100 ms.
func scaleReadWhile(m *zenkey.MemoryStore, keys []string, work func()) scaleLatencies {
	const buckets = 100_000
	stop := make(chan struct{})
	done := make(chan scaleLatencies)
	go func() {
		hist := make([]uint32, buckets+1)
		var l scaleLatencies
		ctx := context.Background()
		for i := 0; ; i += 7919 { // a prime stride visits every key, spread over the shards
			select {
			case <-stop:
				l.p50 = scalePercentile(hist, l.gets, 0.5)
				l.p999 = scalePercentile(hist, l.gets, 0.999)
				done <- l
				return
			default:
			}
			start := time.Now()
			_, err := m.Get(ctx, keys[i%len(keys)])
			d := time.Since(start)
			if err != nil {
				panic(err) // the keys are live for an hour
			}
			l.gets++
			l.worst = max(l.worst, d)
			if d > time.Millisecond {
				l.overOneMilli++
			}
			hist[min(int(d/time.Microsecond), buckets)]++
		}
	}()
	work()
	close(stop)
	return <-done
}

// scalePercentile returns the upper bound of the bucket holding quantile q
// of n samples.
func scalePercentile(hist []uint32, n int, q float64) time.Duration {
	want := int(float64(n)*q + 0.5)
	seen := 0
	for i, c := range hist {
		seen += int(c)
		if seen >= want {
			return time.Duration(i+1) * time.Microsecond
		}
	}
	return time.Duration(len(hist)) * time.Microsecond
}
