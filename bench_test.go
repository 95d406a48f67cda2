package zenkey_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

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

// benchApp is a middleware over store with one signed-in session, whose
// store key it returns too.
func benchApp(b *testing.B,
	store zenkey.Store) (*zenkey.Middleware, http.Handler, *http.Request, string) {
	zk, err := zenkey.New(zenkey.Options{
		ClientID: testClientID, ClientSecret: testSecret, SecretKey: testMasterKey,
		RedirectURL: "https://app.test/auth/callback", Store: store,
	})
	if err != nil {
		b.Fatal(err)
	}
	cookie, key, err := zk.NewTestSession(context.Background(), testSubject)
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
	return zk, app, req, key
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
// in-memory store, one read of the same session's record for the others.
// writes/op, the writes to the session's record, must be 0. memory-cold
// checks the cookie's HMAC on every request, as for a browser's first
// request in a minute.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, kind := range storeKinds() {
		b.Run(kind.name, func(b *testing.B) {
			store := kind.open(b)()
			_, app, req, key := benchApp(b, store)
			floor := cookieFloor()
			if kind.name != "memory" {
				floor = storeReadFloor(store, key)
			}
			benchRequests(b, store, key, func() { app.ServeHTTP(&discard{h: http.Header{}}, req) },
				floor)
		})
	}
	b.Run("memory-cold", func(b *testing.B) {
		store := zenkey.NewMemoryStore()
		zk, app, req, key := benchApp(b, store)
		benchRequests(b, store, key, func() {
			zk.ForgetVerifiedCookie(req)
			app.ServeHTTP(&discard{h: http.Header{}}, req)
		}, cookieFloor())
	})
}

// benchRequests runs serve as the benchmark, reports the writes it made to
// the session's record (by its version), and its ratio to floor. The
// store is not wrapped to count: the middleware gives a MemoryStore's
// reads a fast path that a wrapper would hide.
func benchRequests(b *testing.B, store zenkey.Store, key string, serve, floor func()) {
	version := func() uint64 {
		r, err := store.Get(context.Background(), key)
		if err != nil {
			b.Fatal(err)
		}
		return r.Version
	}
	before := version()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
	b.ReportMetric(float64(version()-before)/float64(b.N), "writes/op")
	ratio(b, floor, serve)
}

// storeReadFloor is one Get of the record with the key from store.
func storeReadFloor(store zenkey.Store, key string) func() {
	ctx := context.Background()
	return func() {
		if _, err := store.Get(ctx, key); err != nil {
			panic(err)
		}
	}
}

// BenchmarkAccessToken reads a fresh access token: no refresh, no write.
func BenchmarkAccessToken(b *testing.B) {
	store := &countingStore{Store: zenkey.NewMemoryStore()}
	zk, _, req, _ := benchApp(b, store)
	var s *zenkey.Session
	zk.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s = zenkey.SessionFromContext(r.Context())
	})).ServeHTTP(&discard{h: http.Header{}}, req)
	if s == nil {
		b.Fatal("no session")
	}
	ctx := context.Background()
	before := store.writes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.AccessToken(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(store.writes()-before)/float64(b.N), "writes/op")
}

// BenchmarkCallback is the callback of a login (state check, code exchange
// with the loopback provider, id_token checks, new session) against its
// floor: the same exchange with the provider plus one RS256 verification.
// Both include the provider's own work (it signs an id_token per code).
func BenchmarkCallback(b *testing.B) {
	h := newHarness(b, nil)
	h.login() // discovery and keys are cached, as in a running app
	app := h.zk.Handler(http.NotFoundHandler())
	floor := newExchangeFloor(b, h)
	var own, base time.Duration
	for i := 0; i < b.N; i++ {
		req := h.callbackRequest()
		start := time.Now()
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		own += time.Since(start)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("callback answered %d: %s", w.Code, w.Body)
		}
		base += floor.run()
	}
	b.ReportMetric(float64(own.Nanoseconds())/float64(b.N), "callback-ns/op")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(own)/float64(base), "x-floor")
}

// callbackRequest walks a login up to the provider's redirect back with a
// code (not timed) and returns that callback as the browser would send it.
func (h *harness) callbackRequest() *http.Request {
	b := h.newBrowser()
	cb := h.callbackURL(b)
	req := httptest.NewRequest(http.MethodGet, cb.String(), nil)
	req.Header.Set("Accept", "text/html")
	for _, c := range b.Jar.Cookies(cb) {
		req.AddCookie(c)
	}
	return req
}

// exchangeFloor redeems codes at the provider directly and verifies the
// id_token's RS256 signature: what any callback must do.
type exchangeFloor struct {
	h      *harness
	client *http.Client // one client: its connections are reused
	conf   *oauth2.Config
	keys   jose.JSONWebKeySet
	ctx    context.Context
}

func newExchangeFloor(b *testing.B, h *harness) *exchangeFloor {
	issuer := h.idp.Issuer
	f := &exchangeFloor{h: h, conf: &oauth2.Config{
		ClientID: testClientID, ClientSecret: testSecret, RedirectURL: h.opts.RedirectURL,
		Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: issuer + "/authorize", TokenURL: issuer + "/token",
			AuthStyle: oauth2.AuthStyleInHeader},
	}}
	f.client = h.idp.Client()
	f.ctx = context.WithValue(context.Background(), oauth2.HTTPClient, f.client)
	resp, err := f.client.Get(issuer + "/jwks")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&f.keys); err != nil {
		b.Fatal(err)
	}
	return f
}

// run gets a code (not timed) and times its exchange and verification.
func (f *exchangeFloor) run() time.Duration {
	verifier := oauth2.GenerateVerifier()
	code := f.code(verifier)
	start := time.Now()
	tok, err := f.conf.Exchange(f.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		panic(err)
	}
	jws, err := jose.ParseSigned(tok.Extra("id_token").(string),
		[]jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		panic(err)
	}
	if _, err := jws.Verify(f.keys.Key(jws.Signatures[0].Header.KeyID)[0].Key); err != nil {
		panic(err)
	}
	return time.Since(start)
}

func (f *exchangeFloor) code(verifier string) string {
	c := *f.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	target := f.conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "n"))
	resp, err := c.Get(target)
	if err != nil {
		panic(err)
	}
	io.Copy(io.Discard, resp.Body) // so the connection is reused
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	return loc.Query().Get("code")
}

// BenchmarkAPIProxy is a browser's API call through APIProxy (session,
// token, header hygiene) against a bare httputil.ReverseProxy to the same
// loopback upstream.
func BenchmarkAPIProxy(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	target, _ := url.Parse(upstream.URL)
	zk, _, req, _ := benchApp(b, zenkey.NewMemoryStore())
	req.URL.Path = "/api/items"
	proxied := zk.Handler(zk.APIProxy("/api/", target))
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.SetXForwarded()
	}}
	serve := func(h http.Handler) func() {
		return func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				panic(w.Body.String())
			}
		}
	}
	own := serve(proxied)
	b.ReportAllocs()
	for b.Loop() {
		own()
	}
	ratio(b, serve(bare), own)
}
