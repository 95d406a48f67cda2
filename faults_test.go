package zenkey_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// The provider and store faults of these tests must each end in a clear
// answer (an error page, 401, 502 or 503), never in access, a hang or a
// panic, and the app must recover once the fault is gone.

const (
	// providerTimeout is how long the app waits for the provider here.
	providerTimeout = 2 * time.Second
	// storeTimeout is the app's Options.StoreTimeout here.
	storeTimeout = 200 * time.Millisecond
	// patience is how long a browser waits for any answer: a test that
	// needs it has found a hang.
	patience = 5 * time.Second
)

// faultOptions makes the app give up on the provider after providerTimeout
// and on the store after storeTimeout. It also takes the harness's token
// recorder out of the way: the recorder reads every token answer to its
// end, and the app's own limits are under test here.
func faultOptions(o *zenkey.Options) {
	transport := o.HTTPClient.Transport
	if r, ok := transport.(recordingTransport); ok {
		transport = r.base
	}
	o.HTTPClient = &http.Client{Transport: transport, Timeout: providerTimeout}
	o.StoreTimeout = storeTimeout
}

// impatient returns a new browser of h's that gives up after patience, and
// a copy of it that does not follow redirects.
func impatient(h *harness) (follow, stay *http.Client) {
	follow = h.newBrowser()
	follow.Timeout = patience
	s := *follow
	s.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return follow, &s
}

// assertErrorPage checks that p is a clear answer to a failure: one of the
// statuses, not cached, and a message in words: an HTML page for a page
// load, plain text for a form post.
func assertErrorPage(t *testing.T, p page, statuses ...int) {
	t.Helper()
	assert.Contains(t, statuses, p.status, p.body)
	assert.Equal(t, "no-store", p.header.Get("Cache-Control"))
	if strings.Contains(p.header.Get("Content-Type"), "text/html") {
		assert.Contains(t, p.body, "Sign-in problem")
	} else {
		assert.Regexp(t, `^zenkey: [A-Z][a-z]+ .*\.`, p.body)
	}
}

// providerFault is one way for a provider endpoint to fail.
type providerFault struct {
	name  string
	apply func(t *testing.T, h *harness, e zenkeytest.Endpoint)
}

var providerFaults = []providerFault{
	{"down", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Misbehave(e, zenkeytest.HangUp)
	}},
	{"slow", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Delay(e, 10*providerTimeout)
	}},
	{"500", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Fail(e, http.StatusInternalServerError)
	}},
	{"503", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Fail(e, http.StatusServiceUnavailable)
	}},
	{"garbage", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Misbehave(e, zenkeytest.GarbageBody)
	}},
	{"enormous", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Misbehave(e, zenkeytest.EnormousBody)
		t.Cleanup(func() {
			// What the network buffers is sent too: some MiB.
			assert.Less(t, h.idp.Sent(e), int64(zenkeytest.EnormousSize/2),
				"the app read an enormous answer to its end")
		})
	}},
	{"wrong content type", func(t *testing.T, h *harness, e zenkeytest.Endpoint) {
		h.idp.Misbehave(e, zenkeytest.HTMLPage)
	}},
}

func TestProviderFaultsDuringLogin(t *testing.T) {
	for _, e := range []zenkeytest.Endpoint{zenkeytest.Discovery, zenkeytest.JWKS,
		zenkeytest.Token} {
		for _, f := range providerFaults {
			t.Run(string(e)+"/"+f.name, func(t *testing.T) {
				h := newHarness(t, faultOptions)
				b, _ := impatient(h)
				f.apply(t, h, e)

				start := time.Now()
				p := h.do(b, http.MethodGet, "/profile", true)

				assertErrorPage(t, p, http.StatusBadRequest, http.StatusBadGateway,
					http.StatusServiceUnavailable)
				assert.Less(t, time.Since(start), 3*providerTimeout+2*time.Second, "no hang")
				h.idp.Heal()
				assert.False(t, h.signedIn(b), "a failed login grants nothing")

				// A failed key fetch is not repeated for 30 seconds.
				h.clock.Advance(time.Minute)
				assert.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status,
					"recovers")
			})
		}
	}
	t.Run("discovery/provider_not_found", func(t *testing.T) {
		h := newHarness(t, faultOptions)
		b, _ := impatient(h)
		picky := *b // picks a carrier that discovery does not know
		picky.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if q := req.URL.Query(); req.URL.Path == "/auth/callback" && q.Has("mccmnc") {
				q.Set("mccmnc", "310998")
				req.URL.RawQuery = q.Encode()
			}
			return nil
		}
		p := h.do(&picky, http.MethodGet, "/profile", true)
		assertErrorPage(t, p, http.StatusBadRequest)
		assert.Contains(t, p.body, "does not offer ZenKey")
		assert.False(t, h.signedIn(b))
	})
}

func TestStandardProviderDiscoveryFaults(t *testing.T) {
	for _, f := range providerFaults {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, func(o *zenkey.Options) {
				useIssuer(o)
				faultOptions(o)
			})
			b, _ := impatient(h)
			f.apply(t, h, zenkeytest.Configuration)

			p := h.do(b, http.MethodGet, "/profile", true)

			assertErrorPage(t, p, http.StatusBadGateway)
			h.idp.Heal()
			assert.False(t, h.signedIn(b))
			assert.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status,
				"recovers")
		})
	}
}

// userInfoRoute serves the session's user info: "ok", or 502 when it could
// not be had.
func (h *harness) userInfoRoute() {
	h.mux.Handle("/me", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		info, err := zenkey.SessionFromContext(r.Context()).UserInfo(r.Context())
		if err != nil {
			http.Error(w, "no user info", http.StatusBadGateway)
			return
		}
		io.WriteString(w, "ok "+info.Subject)
	})))
}

func TestProviderFaultsDuringUserInfo(t *testing.T) {
	for _, f := range providerFaults {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, faultOptions)
			h.userInfoRoute()
			b, _ := impatient(h)
			require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
			f.apply(t, h, zenkeytest.UserInfo)

			start := time.Now()
			p := h.do(b, http.MethodGet, "/me", false)

			assert.Equal(t, http.StatusBadGateway, p.status, p.body)
			assert.Less(t, time.Since(start), 3*providerTimeout+2*time.Second, "no hang")
			h.idp.Heal()
			assert.True(t, h.signedIn(b), "a userinfo failure ends no session")
			assert.Equal(t, "ok "+testSubject, h.do(b, http.MethodGet, "/me", false).body,
				"recovers")
		})
	}
}

func TestProviderFaultsDuringRefresh(t *testing.T) {
	for _, f := range providerFaults {
		t.Run(f.name, func(t *testing.T) {
			h := newHarness(t, func(o *zenkey.Options) {
				longSessions(o)
				faultOptions(o)
			})
			h.tokenRoute()
			b, _ := impatient(h)
			require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
			h.clock.Advance(30 * time.Minute)
			f.apply(t, h, zenkeytest.Refresh)

			start := time.Now()
			p := h.do(b, http.MethodGet, "/token", false)

			assert.Equal(t, http.StatusBadGateway, p.status, p.body)
			assert.Less(t, time.Since(start), 3*providerTimeout+2*time.Second, "no hang")
			h.idp.Heal()
			assert.Equal(t, "ok", h.do(b, http.MethodGet, "/token", false).body,
				"the session and its refresh token survive a provider failure")
		})
	}
}

func TestProviderKeysRotateOrVanish(t *testing.T) {
	t.Run("rotated, old key kept", func(t *testing.T) {
		h := newHarness(t, longSessions)
		h.tokenRoute()
		require.Equal(t, http.StatusOK, h.login().status)
		h.idp.RotateKey(true)
		h.clock.Advance(30 * time.Minute)

		assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body,
			"a refresh's id_token under the new key verifies")
		assert.Equal(t, http.StatusOK, h.do(h.newBrowser(), http.MethodGet, "/profile",
			true).status)
	})
	t.Run("rotated, old key dropped", func(t *testing.T) {
		h := newHarness(t, longSessions)
		h.tokenRoute()
		require.Equal(t, http.StatusOK, h.login().status)
		h.idp.RotateKey(false)
		h.clock.Advance(30 * time.Minute)

		assert.True(t, h.signedIn(h.browser), "sessions outlive the key that signed their login")
		assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
	})
	t.Run("vanished", func(t *testing.T) {
		h := newHarness(t, faultOptions)
		require.Equal(t, http.StatusOK, h.login().status)
		h.idp.HideKeys(true)
		h.idp.RotateKey(false)
		h.clock.Advance(time.Minute)

		b, _ := impatient(h)
		p := h.do(b, http.MethodGet, "/profile", true)
		assertErrorPage(t, p, http.StatusBadRequest, http.StatusBadGateway)
		assert.False(t, h.signedIn(b))
		assert.True(t, h.signedIn(h.browser), "existing sessions stay")
	})
}

// A brokenStore fails or stalls the operations a test breaks.
type brokenStore struct {
	zenkey.Store
	mu     sync.Mutex
	broken map[string]string // operation → "fails" or "stalls"
}

func (s *brokenStore) breakOp(op, how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken == nil {
		s.broken = map[string]string{}
	}
	s.broken[op] = how
}

func (s *brokenStore) heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = nil
}

// fault applies the fault of op, if it is broken. A stall lasts until ctx
// is done, or a minute at most.
func (s *brokenStore) fault(ctx context.Context, op string) error {
	s.mu.Lock()
	how := s.broken[op]
	s.mu.Unlock()
	switch how {
	case "fails":
		return errStoreDown
	case "stalls":
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Minute):
			return errStoreDown
		}
	}
	return nil
}

func (s *brokenStore) Create(ctx context.Context, r *zenkey.Record) error {
	if err := s.fault(ctx, "Create"); err != nil {
		return err
	}
	return s.Store.Create(ctx, r)
}

func (s *brokenStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	if err := s.fault(ctx, "Get"); err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, key)
}

func (s *brokenStore) Update(ctx context.Context, r *zenkey.Record) error {
	if err := s.fault(ctx, "Update"); err != nil {
		return err
	}
	return s.Store.Update(ctx, r)
}

func (s *brokenStore) Delete(ctx context.Context, key string) error {
	if err := s.fault(ctx, "Delete"); err != nil {
		return err
	}
	return s.Store.Delete(ctx, key)
}

func (s *brokenStore) DeleteSubject(ctx context.Context, subject string) (int, error) {
	if err := s.fault(ctx, "DeleteSubject"); err != nil {
		return 0, err
	}
	return s.Store.DeleteSubject(ctx, subject)
}

func (s *brokenStore) DeleteSID(ctx context.Context, sid string) (int, error) {
	if err := s.fault(ctx, "DeleteSID"); err != nil {
		return 0, err
	}
	return s.Store.DeleteSID(ctx, sid)
}

// storeHarness is a harness whose store breaks on demand.
func storeHarness(t *testing.T, edit func(*zenkey.Options)) (*harness, *brokenStore) {
	store := &brokenStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = store
		longSessions(o)
		faultOptions(o)
		if edit != nil {
			edit(o)
		}
	})
	return h, store
}

// cookies returns the browser's cookies for the app: a copy an attacker
// could have kept.
func (h *harness) cookies(b *http.Client) []*http.Cookie {
	u, _ := url.Parse(h.app.URL)
	return b.Jar.Cookies(u)
}

// browserWith returns a new browser holding cookies.
func (h *harness) browserWith(cookies []*http.Cookie) *http.Client {
	b, _ := impatient(h)
	u, _ := url.Parse(h.app.URL)
	b.Jar.SetCookies(u, cookies)
	return b
}

// storeStep is a path through the middleware run while the store is broken.
// It checks that the answer fails closed, and after the store healed, that
// the answer told the truth and that the app recovers.
type storeStep struct {
	name string
	run  func(t *testing.T, h *harness, s *brokenStore, op, how string)
}

var storeSteps = []storeStep{
	{"login starts", func(t *testing.T, h *harness, s *brokenStore, op, how string) {
		b, stay := impatient(h)
		s.breakOp(op, how)
		p := h.do(stay, http.MethodGet, "/auth/login", true)
		s.heal()
		if p.status != http.StatusFound {
			assertErrorPage(t, p, http.StatusServiceUnavailable)
		}
		assert.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status, "recovers")
	}},
	{"callback", func(t *testing.T, h *harness, s *brokenStore, op, how string) {
		b, stay := impatient(h)
		cb := h.callbackURL(b)
		s.breakOp(op, how)
		p := h.do(stay, http.MethodGet, cb.String(), true)
		s.heal()
		if p.status == http.StatusSeeOther {
			assert.True(t, h.signedIn(b), "a login that answered success has its session")
		} else {
			assertErrorPage(t, p, http.StatusBadRequest, http.StatusServiceUnavailable)
			assert.False(t, h.signedIn(b), "a failed login grants nothing")
		}
		assert.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status, "recovers")
	}},
	{"signed-in request", func(t *testing.T, h *harness, s *brokenStore, op, how string) {
		b, stay := impatient(h)
		require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
		h.clock.Advance(2 * time.Minute) // the request also moves the idle deadline: a write
		s.breakOp(op, how)
		api := h.do(stay, http.MethodGet, "/profile", false)
		nav := h.do(stay, http.MethodGet, "/profile", true)
		s.heal()
		assert.Contains(t, []int{http.StatusOK, http.StatusServiceUnavailable}, api.status,
			"never a false 401: %s", api.body)
		if nav.status != http.StatusOK {
			assertErrorPage(t, nav, http.StatusServiceUnavailable)
		}
		assert.True(t, h.signedIn(b), "the session survives the store's failure")
	}},
	{"refresh", func(t *testing.T, h *harness, s *brokenStore, op, how string) {
		h.tokenRoute()
		b, _ := impatient(h)
		require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
		h.clock.Advance(30 * time.Minute)
		s.breakOp(op, how)
		p := h.do(b, http.MethodGet, "/token", false)
		s.heal()
		assert.Contains(t, []int{http.StatusOK, http.StatusBadGateway,
			http.StatusServiceUnavailable}, p.status,
			"never a false 401: %s", p.body)
		assert.Equal(t, "ok", h.do(b, http.MethodGet, "/token", false).body, "recovers")
	}},
	{"logout", func(t *testing.T, h *harness, s *brokenStore, op, how string) {
		b, stay := impatient(h)
		require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
		kept := h.cookies(b)
		s.breakOp(op, how)
		p := h.do(stay, http.MethodPost, "/auth/logout", true)
		s.heal()
		if p.status == http.StatusSeeOther {
			assert.False(t, h.signedIn(h.browserWith(kept)),
				"a logout that answered success destroyed the session")
			return
		}
		assertErrorPage(t, p, http.StatusServiceUnavailable)
		assert.NotContains(t, strings.ToLower(p.body), "signed out")
		assert.True(t, h.signedIn(b), "a failed logout keeps the cookie for a retry")
		assert.Equal(t, http.StatusSeeOther, h.do(stay, http.MethodPost, "/auth/logout",
			true).status)
		assert.False(t, h.signedIn(h.browserWith(kept)), "the retry destroyed the session")
	}},
}

func TestStoreFaultsFailClosed(t *testing.T) {
	for _, step := range storeSteps {
		for _, op := range []string{"Create", "Get", "Update", "Delete"} {
			for _, how := range []string{"fails", "stalls"} {
				if op == "Get" && how == "stalls" {
					continue // TestStalledStoreReadsAnswer503
				}
				t.Run(step.name+"/"+op+" "+how, func(t *testing.T) {
					h, s := storeHarness(t, nil)
					step.run(t, h, s, op, how)
				})
			}
		}
	}
}

// TestStalledStoreReadsAnswer503 stalls the store's reads: a request must
// answer 503 within StoreTimeout rather than hang, and a logout must not
// hang either: it may still succeed, since it needs no read to destroy the
// session, but then the session must be gone.
func TestStalledStoreReadsAnswer503(t *testing.T) {
	for name, req := range map[string]struct {
		method, path string
	}{
		"signed-in request": {http.MethodGet, "/profile"},
		"logout":            {http.MethodPost, "/auth/logout"},
	} {
		t.Run(name, func(t *testing.T) {
			h, s := storeHarness(t, nil)
			b, stay := impatient(h)
			stay.Timeout = storeTimeout + 2*time.Second
			require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
			kept := h.cookies(b)
			s.breakOp("Get", "stalls")

			start := time.Now()
			p, err := tryDo(h, stay, req.method, req.path)

			require.NoError(t, err, "the app answered nothing within %v", stay.Timeout)
			assert.Less(t, time.Since(start), storeTimeout+time.Second)
			s.heal()
			if p.status == http.StatusSeeOther && req.path == "/auth/logout" {
				assert.False(t, h.signedIn(h.browserWith(kept)),
					"a logout that answered success destroyed the session")
				return
			}
			assertErrorPage(t, p, http.StatusServiceUnavailable)
			assert.True(t, h.signedIn(b))
		})
	}
}

// tryDo is harness.do that returns the client's error instead of failing.
func tryDo(h *harness, b *http.Client, method, path string) (page, error) {
	req, err := http.NewRequest(method, h.app.URL+path, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("Accept", "text/html")
	if method == http.MethodPost {
		req.Header.Set("Origin", h.app.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Request.URL, string(body), resp.Header}, err
}

// TestLogoutEverywhereIsNeverClaimedWhileOtherSessionsLive breaks the store
// during "log out everywhere": the answer may be 503, but a success must
// mean that every session of the user is gone, also on a retry.
func TestLogoutEverywhereIsNeverClaimedWhileOtherSessionsLive(t *testing.T) {
	for _, tt := range []struct{ name, op string }{
		{"store read fails", "Get"},
		{"retry after DeleteSubject failed", "DeleteSubject"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, s := storeHarness(t, func(o *zenkey.Options) { o.AllowLogoutEverywhere = true })
			phone, phoneStay := impatient(h)
			laptop, _ := impatient(h)
			require.Equal(t, http.StatusOK, h.do(phone, http.MethodGet, "/profile", true).status)
			require.Equal(t, http.StatusOK, h.do(laptop, http.MethodGet, "/profile", true).status)

			s.breakOp(tt.op, "fails")
			p := h.postForm(phoneStay, "/auth/logout", url.Values{"everywhere": {"1"}})
			s.heal()
			if p.status != http.StatusSeeOther {
				assertErrorPage(t, p, http.StatusServiceUnavailable)
				p = h.postForm(phoneStay, "/auth/logout", url.Values{"everywhere": {"1"}})
			}

			require.Equal(t, http.StatusSeeOther, p.status, p.body)
			assert.False(t, h.signedIn(laptop),
				"told signed out everywhere, yet the laptop is still signed in")
		})
	}
}

// TestBackchannelLogoutStoreFailureIsRetryable breaks the store while a
// provider posts a back-channel logout. The answer must be 503 (not 400,
// which says the token is bad), and the provider's retry with the same
// token must then destroy the sessions.
func TestBackchannelLogoutStoreFailureIsRetryable(t *testing.T) {
	for _, tt := range []struct{ name, op string }{
		{"jti not recorded", "Create"},
		{"sessions not deleted", "DeleteSubject"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, s := storeHarness(t, useIssuer)
			require.Equal(t, http.StatusOK, h.login().status)
			tok := h.idp.LogoutToken(testSubject, "")

			s.breakOp(tt.op, "fails")
			status, _ := h.postLogoutToken(tok)
			s.heal()

			assert.Equal(t, http.StatusServiceUnavailable, status,
				"a store failure is not an invalid token")
			assert.True(t, h.signedIn(h.browser), "nothing was destroyed yet")
			status, _ = h.postLogoutToken(tok)
			assert.Equal(t, http.StatusOK, status, "the provider's retry is accepted")
			assert.False(t, h.signedIn(h.browser), "the retry destroyed the session")
		})
	}
}

// dueForRefresh signs a browser in over store, with options edited by
// edit when it is not nil, and moves the clock so that the browser's next
// /token request refreshes its access token.
func dueForRefresh(t *testing.T, store zenkey.Store,
	edit func(*zenkey.Options)) (*harness, *http.Client) {
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = store
		longSessions(o)
		if edit != nil {
			edit(o)
		}
	})
	h.tokenRoute()
	b, _ := impatient(h)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	h.clock.Advance(30 * time.Minute)
	return h, b
}

// failingFinalWrite fails the write that stores a refresh's new tokens
// (the Update that releases a lease taken since it was armed), once.
type failingFinalWrite struct {
	zenkey.Store
	armed, leased atomic.Bool
}

func (s *failingFinalWrite) Update(ctx context.Context, r *zenkey.Record) error {
	switch {
	case !r.LeaseUntil.IsZero():
		s.leased.Store(s.armed.Load())
	case s.leased.Load() && s.armed.CompareAndSwap(true, false):
		return errStoreDown
	}
	return s.Store.Update(ctx, r)
}

// TestRefreshSurvivesAFailedFinalWrite fails the store write that keeps a
// refresh's new tokens. The provider has rotated the refresh token by then:
// unless the write is retried, the session holds a dead refresh token and
// its lease, and ends at the next refresh although the store is back.
func TestRefreshSurvivesAFailedFinalWrite(t *testing.T) {
	store := &failingFinalWrite{Store: zenkey.NewMemoryStore()}
	h, b := dueForRefresh(t, store, faultOptions)
	store.armed.Store(true)
	first := h.do(b, http.MethodGet, "/token", false)
	assert.NotEqual(t, http.StatusUnauthorized, first.status, first.body)

	// The next request must not wait for the lease of a refresh that is
	// over, and the session must still refresh.
	h.clock.Advance(time.Second)
	start := time.Now()
	p, err := tryDo(h, b, http.MethodGet, "/token")
	if assert.NoError(t, err, "waited for a lease nobody holds") {
		assert.Equal(t, "ok", p.body)
		assert.Less(t, time.Since(start), 2*time.Second)
	}
	h.clock.Advance(20 * time.Second) // past any lease
	p = h.do(b, http.MethodGet, "/token", false)
	assert.Equal(t, "ok", p.body, "the session survives a store blip during its refresh")
}

// failingReleases fails, while armed, every write that releases a lease:
// the final write of a refresh, however often it is tried.
type failingReleases struct {
	zenkey.Store
	armed atomic.Bool
}

func (s *failingReleases) Update(ctx context.Context, r *zenkey.Record) error {
	if s.armed.Load() && r.LeaseUntil.IsZero() {
		return errStoreDown
	}
	return s.Store.Update(ctx, r)
}

// TestLogoutRevokesAnUnsavedRefresh: a refresh whose final write failed
// leaves its new tokens with this instance alone, for the next refresh to
// write (TestRefreshSurvivesAFailedFinalWrite). A logout before then must
// revoke them as well as the stored ones: no record holds them.
func TestLogoutRevokesAnUnsavedRefresh(t *testing.T) {
	store := &failingReleases{Store: zenkey.NewMemoryStore()}
	h, b := dueForRefresh(t, store, nil)
	store.armed.Store(true)
	h.do(b, http.MethodGet, "/token", false)
	require.Equal(t, 1, h.idp.Calls(zenkeytest.Refresh))
	fresh := h.issuedTokens()
	store.armed.Store(false) // the store is back

	h.do(b, http.MethodPost, "/auth/logout", true)
	require.False(t, h.signedIn(b), "the logout did not happen")
	h.zk.WaitRevocations()
	assert.True(t, h.idp.IsRevoked(fresh["refresh_token"]), "the unsaved refresh token left live")
	assert.True(t, h.idp.IsRevoked(fresh["access_token"]), "the unsaved access token left live")
}

// TestRefreshKeepsTheSessionWhenKeysCannotBeFetched rotates the provider's
// key while its JWKS is down: a refresh's id_token then cannot be checked.
// That is a provider outage, like a token endpoint that is down
// (TestRefreshProviderDownKeepsTheSession): the refresh fails, but the
// session must not be destroyed.
func TestRefreshKeepsTheSessionWhenKeysCannotBeFetched(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) {
		longSessions(o)
		faultOptions(o)
	})
	h.tokenRoute()
	b, _ := impatient(h)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	h.idp.RotateKey(false)
	h.idp.Fail(zenkeytest.JWKS, http.StatusServiceUnavailable)
	h.clock.Advance(30 * time.Minute)

	p := h.do(b, http.MethodGet, "/token", false)
	assert.Equal(t, http.StatusBadGateway, p.status, p.body)

	h.idp.Heal()
	h.clock.Advance(time.Minute)
	assert.True(t, h.signedIn(b), "a JWKS outage ended the session")
	assert.Equal(t, "ok", h.do(b, http.MethodGet, "/token", false).body)
}

// TestBackchannelLogoutProviderOutageIs503 makes the provider's keys or
// configuration unreachable when it posts a valid logout token signed with
// a key the app has not fetched yet. That is an outage, not an invalid
// token: the answer must be 503, so that the provider retries, and the
// retry must destroy the session.
func TestBackchannelLogoutProviderOutageIs503(t *testing.T) {
	for _, tt := range []struct {
		name   string
		outage func(h *harness)
	}{
		{"keys unreachable", func(h *harness) {
			h.idp.RotateKey(false)
			h.idp.Fail(zenkeytest.JWKS, http.StatusServiceUnavailable)
		}},
		{"configuration unreachable", func(h *harness) {
			h.clock.Advance(2 * time.Hour) // the cached configuration is stale
			h.idp.Fail(zenkeytest.Configuration, http.StatusServiceUnavailable)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *zenkey.Options) {
				useIssuer(o)
				longSessions(o)
				o.AbsoluteTimeout = 24 * time.Hour
				faultOptions(o)
			})
			require.Equal(t, http.StatusOK, h.login().status)
			h.clock.Advance(time.Minute)
			tt.outage(h)
			tok := h.idp.LogoutToken(testSubject, "")

			status, _ := h.postLogoutToken(tok)
			assert.Equal(t, http.StatusServiceUnavailable, status,
				"an outage is not an invalid token")

			h.idp.Heal()
			h.clock.Advance(time.Minute)
			status, _ = h.postLogoutToken(tok)
			assert.Equal(t, http.StatusOK, status, "the provider's retry is accepted")
			assert.False(t, h.signedIn(h.browser), "the retry destroyed the session")
		})
	}
}

// TestBackchannelLogoutRetryAfterStoreOutage: with the store down for the
// whole first attempt (the sessions not deleted, the logout token's jti not
// forgotten), the provider's retry of the same token is not a replay: it
// destroys the session.
func TestBackchannelLogoutRetryAfterStoreOutage(t *testing.T) {
	h, s := storeHarness(t, useIssuer)
	require.Equal(t, http.StatusOK, h.login().status)
	tok := h.idp.LogoutToken(testSubject, "")

	s.breakOp("DeleteSubject", "fails")
	s.breakOp("Delete", "fails")
	status, _ := h.postLogoutToken(tok)
	s.heal()
	require.Equal(t, http.StatusServiceUnavailable, status)

	status, _ = h.postLogoutToken(tok)
	assert.Equal(t, http.StatusOK, status, "the provider's retry is accepted")
	assert.False(t, h.signedIn(h.browser), "the retry destroyed the session")
	status, _ = h.postLogoutToken(tok)
	assert.Equal(t, http.StatusBadRequest, status, "once done, the token is a replay")
}
