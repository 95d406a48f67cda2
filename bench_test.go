package zenkey_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/zenkey-go/zenkey"
)

// Each benchmark measures its floor in the same run and reports the ratio
// as the metric "x-floor": run them with
//
//	go test -run '^$' -bench . -benchmem
//
// The floors are what any implementation must do: decode one securecookie
// value and look the session up once.

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchApp is a middleware over store with one signed-in session.
func benchApp(b *testing.B, store zenkey.Store) (*zenkey.Middleware, http.Handler, *http.Request) {
	zk, err := zenkey.New(zenkey.Options{
		ClientID: testClientID, ClientSecret: testSecret, SecretKey: testMasterKey,
		RedirectURL: "https://app.test/auth/callback", Store: store,
	})
	if err != nil {
		b.Fatal(err)
	}
	cookie, _, err := zk.NewTestSession(context.Background(), testSubject)
	if err != nil {
		b.Fatal(err)
	}
	app := zk.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if zenkey.SessionFromContext(r.Context()) == nil {
			b.Fatal("not signed in")
		}
	}))
	req := httptest.NewRequest(http.MethodGet, "https://app.test/", nil)
	req.AddCookie(cookie)
	return zk, app, req
}

// cookieFloor decodes one securecookie value like the session cookie
// (HMAC-SHA256, 32-byte value, no encryption) and looks it up in a map.
func cookieFloor() func() {
	sc := securecookie.New(securecookie.GenerateRandomKey(64), nil).
		SetSerializer(securecookie.NopEncoder{})
	id := make([]byte, 32)
	rand.Read(id)
	value, _ := sc.Encode("__Host-zenkey", id)
	sessions := map[string]*zenkey.Record{string(id): {Key: "x"}}
	return func() {
		var got []byte
		if sc.Decode("__Host-zenkey", value, &got) != nil || sessions[string(got)] == nil {
			panic("floor failed")
		}
	}
}

// ratio measures own against floor in alternating rounds of 200 calls for
// about a second, so that drift in the machine's speed (a shared VM's is
// large) affects both alike, and reports own/floor as "x-floor" with the
// floor's ns/op. Benchmarks cannot nest (testing.Benchmark inside one
// deadlocks), hence this loop.
func ratio(b *testing.B, floor, own func()) {
	var floorTime, ownTime time.Duration
	round := func(fn func()) time.Duration {
		start := time.Now()
		for range 200 {
			fn()
		}
		return time.Since(start)
	}
	round(floor)
	round(own) // warm up
	n := 0
	for start := time.Now(); time.Since(start) < time.Second; n += 200 {
		floorTime += round(floor)
		ownTime += round(own)
	}
	b.ReportMetric(float64(ownTime)/float64(floorTime), "x-floor")
	b.ReportMetric(float64(floorTime.Nanoseconds())/float64(n), "floor-ns/op")
}

// BenchmarkAuthenticatedRequest is a signed-in request through the
// middleware, per store, against its floor: the cookie floor for the
// in-memory store, one store read for the others. writes/op must be 0.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, kind := range storeKinds() {
		b.Run(kind.name, func(b *testing.B) {
			store := &countingStore{Store: kind.open(b)()}
			_, app, req := benchApp(b, store)
			var floor func()
			if kind.name == "memory" {
				floor = cookieFloor()
			} else {
				floor = storeReadFloor(store.Store)
			}
			w := &discard{h: http.Header{}}
			before := store.updates.Load()
			b.ReportAllocs()
			for b.Loop() {
				app.ServeHTTP(w, req)
			}
			b.ReportMetric(float64(store.updates.Load()-before)/float64(b.N), "writes/op")
			ratio(b, floor, func() { app.ServeHTTP(w, req) })
		})
	}
}

// storeReadFloor is one Get of a record from store.
func storeReadFloor(store zenkey.Store) func() {
	ctx := context.Background()
	now := time.Now()
	key := strings.Repeat("ab", 32)
	store.Create(ctx, &zenkey.Record{
		Key: key, Created: now, LastSeen: now, IdleDeadline: now.Add(time.Hour),
		AbsoluteDeadline: now.Add(time.Hour), Blob: make([]byte, 1200),
	})
	return func() {
		if _, err := store.Get(ctx, key); err != nil {
			panic(err)
		}
	}
}

// BenchmarkAccessToken reads a fresh access token: no refresh, no write.
func BenchmarkAccessToken(b *testing.B) {
	store := &countingStore{Store: zenkey.NewMemoryStore()}
	zk, _, req := benchApp(b, store)
	var s *zenkey.Session
	zk.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = zenkey.SessionFromContext(r.Context())
	})).ServeHTTP(&discard{h: http.Header{}}, req)
	if s == nil {
		b.Fatal("no session")
	}
	ctx := context.Background()
	before := store.updates.Load()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AccessToken(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(store.updates.Load()-before)/float64(b.N), "writes/op")
}
