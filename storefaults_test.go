package zenkey_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// Store faults on the paths TestStoreFaultsFailClosed does not take: the
// API proxy, Session.UserInfo and transaction approvals. Each path is run
// once with a healthy store, counting the store calls it makes; then once
// for each of those calls, with the store failing or stalling from that
// call on. Whatever call the outage starts at, the answer is the path's
// success or a clear 503 (a clear error for Session.UserInfo), never
// access the store did not vouch for, never a false "signed out", never a
// hang; and once the store is back, the path works again.

// stagedStore is a brokenStore whose fault starts partway through a
// request: the first pass calls of the broken operation still reach the
// store. While armed it counts the calls of each operation.
type stagedStore struct {
	*brokenStore
	mu    sync.Mutex
	armed bool
	op    string
	how   string // "fails", "stalls", or "" to only count
	pass  int
	calls map[string]int
}

// arm starts counting, and breaks op (how) after pass more calls of it.
func (s *stagedStore) arm(op, how string, pass int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed, s.op, s.how, s.pass, s.calls = true, op, how, pass, map[string]int{}
}

// disarm heals the store and returns the calls counted since arm.
func (s *stagedStore) disarm() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	s.brokenStore.heal()
	return s.calls
}

// call counts a call of op, and breaks op when its turn has come.
func (s *stagedStore) call(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return
	}
	s.calls[op]++
	if op != s.op || s.how == "" {
		return
	}
	if s.pass == 0 {
		s.brokenStore.breakOp(op, s.how)
		return
	}
	s.pass--
}

func (s *stagedStore) Create(ctx context.Context, r *zenkey.Record) error {
	s.call("Create")
	return s.brokenStore.Create(ctx, r)
}

func (s *stagedStore) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	s.call("Get")
	return s.brokenStore.Get(ctx, key)
}

func (s *stagedStore) Update(ctx context.Context, r *zenkey.Record) error {
	s.call("Update")
	return s.brokenStore.Update(ctx, r)
}

func (s *stagedStore) Delete(ctx context.Context, key string) error {
	s.call("Delete")
	return s.brokenStore.Delete(ctx, key)
}

func (s *stagedStore) DeleteSubject(ctx context.Context, subject string) (int, error) {
	s.call("DeleteSubject")
	return s.brokenStore.DeleteSubject(ctx, subject)
}

func (s *stagedStore) DeleteSID(ctx context.Context, sid string) (int, error) {
	s.call("DeleteSID")
	return s.brokenStore.DeleteSID(ctx, sid)
}

// storePath is a path through the middleware whose store calls are broken
// in turn. prepare sets the app up (routes, a signed-in browser, the clock)
// with a healthy store and returns the request that meets the fault, and
// check, which judges that request's answer and, the store healed, that
// the app recovers.
type storePath struct {
	name    string
	prepare func(t *testing.T, h *harness) (act func() page, check func(p page))
}

// stagedHarness is a harness whose store faults can start partway through
// a request, with user info kept in the session for a minute.
func stagedHarness(t *testing.T) (*harness, *stagedStore) {
	s := &stagedStore{brokenStore: &brokenStore{Store: zenkey.NewMemoryStore()}}
	h := newHarness(t, func(o *zenkey.Options) {
		o.Store = s
		longSessions(o)
		o.UserInfoTTL = time.Minute
		o.StoreTimeout = storeTimeout
		// The provider's answers are still recorded: h.issuedTokens.
		o.HTTPClient = &http.Client{Transport: o.HTTPClient.Transport, Timeout: providerTimeout}
	})
	b, _ := impatient(h)
	h.browser = b // every request in these tests gives up after patience
	return h, s
}

// runStorePath runs p with a healthy store, then with the store breaking
// at each call p made, failing or stalling.
func runStorePath(t *testing.T, p storePath) {
	h, s := stagedHarness(t)
	act, check := p.prepare(t, h)
	s.arm("", "", 0)
	healthy := act()
	calls := s.disarm()
	check(healthy)
	require.NotEmpty(t, calls, "the path makes no store call")

	ops := make([]string, 0, len(calls))
	for op := range calls {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, op := range ops {
		for i := range calls[op] {
			for _, how := range []string{"fails", "stalls"} {
				name := fmt.Sprintf("%s %d of %d %s", op, i+1, calls[op], how)
				t.Run(name, func(t *testing.T) {
					h, s := stagedHarness(t)
					act, check := p.prepare(t, h)
					s.arm(op, how, i)
					start := time.Now()
					got := act()
					elapsed := time.Since(start)
					s.disarm()
					assert.Less(t, elapsed, patience, "no hang")
					check(got)
				})
			}
		}
	}
}

// assertStoreRefusal checks an answer that a store fault stopped: a 503
// that is not cached and does not blame the provider, with a message in
// words: a page for a page load, plain text for anything else.
func assertStoreRefusal(t *testing.T, p page) {
	t.Helper()
	assert.Equal(t, http.StatusServiceUnavailable, p.status, "a store failure answers 503: %s",
		p.body)
	assert.Equal(t, "no-store", p.header.Get("Cache-Control"))
	assert.NotContains(t, p.body, "ZenKey cannot be reached",
		"a store failure is blamed on the provider")
	if strings.Contains(p.header.Get("Content-Type"), "text/html") {
		assert.Contains(t, p.body, "Sign-in problem")
	} else {
		assert.True(t, strings.HasPrefix(p.body, "zenkey: "), p.body)
	}
}

// assertRecovers checks, the store healed, that path answers want again:
// at once, without waiting out the refresh lease of a request that failed
// (the clock stands still here: such a wait would never end), and later,
// past any lease.
func assertRecovers(t *testing.T, h *harness, path, want string) {
	t.Helper()
	quick := *h.browser
	quick.Timeout = 2 * time.Second
	req, err := http.NewRequest(http.MethodGet, h.app.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := quick.Do(req)
	if assert.NoError(t, err,
		"once the store is back, the request waits on the lease of a refresh that is over") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, want, string(body), "recovers at once")
	}
	h.clock.Advance(20 * time.Second)
	p := h.do(h.browser, http.MethodGet, path, false)
	assert.Equal(t, want, p.body, "recovers: the session survives the store's failure (HTTP %d)",
		p.status)
}

// proxyPath sends an API call through zk.APIProxy, after advance on the
// clock: past a minute, the session's idle deadline is moved (a write);
// past the access token's life, the token is refreshed first.
func proxyPath(advance time.Duration) func(t *testing.T, h *harness) (func() page, func(page)) {
	return func(t *testing.T, h *harness) (func() page, func(page)) {
		upstream := newAPI(t)
		base, _ := url.Parse(upstream.URL + "/v1")
		h.mux.Handle("/api/", h.zk.APIProxy("/api/", base))
		require.Equal(t, http.StatusOK, h.login().status)
		h.clock.Advance(advance)
		before, refreshes := upstream.count(), h.idp.Calls(zenkeytest.Refresh)
		expired := advance >= 29*time.Minute

		act := func() page { return h.do(h.browser, http.MethodGet, "/api/items", false) }
		check := func(p page) {
			switch p.status {
			case http.StatusOK:
				assert.Equal(t, "api:/v1/items:", p.body)
				req, _ := upstream.last()
				assert.Equal(t, "Bearer "+h.issuedTokens()["access_token"],
					req.Header.Get("Authorization"),
					"the upstream got the session's current access token")
				if expired {
					assert.Equal(t, refreshes+1, h.idp.Calls(zenkeytest.Refresh),
						"the upstream got an access token that had expired")
				}
			default:
				assertStoreRefusal(t, p)
				assert.Equal(t, before, upstream.count(),
					"a call the store did not vouch for went upstream")
			}
			assertRecovers(t, h, "/api/items", "api:/v1/items:")
		}
		return act, check
	}
}

func TestStoreFaultsOnAPIProxy(t *testing.T) {
	for _, p := range []storePath{
		{"signed-in call", proxyPath(2 * time.Minute)},
		{"call that refreshes", proxyPath(30 * time.Minute)},
	} {
		t.Run(p.name, func(t *testing.T) { runStorePath(t, p) })
	}
}

// userInfoPath asks Session.UserInfo, after advance on the clock, through
// a route that tells its error apart: 401 for a session that ended, 503
// for the store's failure, 500 for anything else. The answer is kept in
// the session (a write).
func userInfoPath(advance time.Duration) func(t *testing.T, h *harness) (func() page, func(page)) {
	return func(t *testing.T, h *harness) (func() page, func(page)) {
		h.mux.Handle("/whoami", h.zk.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter,
			r *http.Request) {
			info, err := zenkey.SessionFromContext(r.Context()).UserInfo(r.Context())
			switch {
			case err == nil:
				io.WriteString(w, "ok "+info.Subject)
			case errors.Is(err, zenkey.ErrSessionEnded):
				http.Error(w, "ended: "+err.Error(), http.StatusUnauthorized)
			case errors.Is(err, errStoreDown), errors.Is(err, context.DeadlineExceeded):
				http.Error(w, "zenkey: Store failed: "+err.Error()+".",
					http.StatusServiceUnavailable)
			default:
				http.Error(w, "other: "+err.Error(), http.StatusInternalServerError)
			}
		})))
		require.Equal(t, http.StatusOK, h.login().status)
		h.clock.Advance(advance)

		act := func() page { return h.do(h.browser, http.MethodGet, "/whoami", false) }
		check := func(p page) {
			switch p.status {
			case http.StatusOK:
				assert.Equal(t, "ok "+testSubject, p.body)
			case http.StatusServiceUnavailable:
				// RequireLogin's 503, or the store's error from UserInfo.
				assert.Regexp(t, `^zenkey: [A-Z][a-z]+ .*\.`, p.body)
			default:
				t.Errorf("user info answered %d, want 200, or 503 with the store's error: %s",
					p.status, p.body)
			}
			assertRecovers(t, h, "/whoami", "ok "+testSubject)
		}
		return act, check
	}
}

func TestStoreFaultsOnUserInfo(t *testing.T) {
	for _, p := range []storePath{
		{"signed-in call", userInfoPath(2 * time.Minute)},
		{"call that refreshes", userInfoPath(30 * time.Minute)},
	} {
		t.Run(p.name, func(t *testing.T) { runStorePath(t, p) })
	}
}

// approvalLink returns the URL at which an approval page sends the user
// to the provider.
func approvalLink(t *testing.T, p page) string {
	t.Helper()
	start := strings.Index(p.body, `href="`)
	require.GreaterOrEqual(t, start, 0, p.body)
	link := p.body[start+len(`href="`):]
	return html.UnescapeString(link[:strings.IndexByte(link, '"')])
}

// assertApprovalRecovers checks, the store healed, that the session is
// alive and an approval can be asked, granted and used.
func assertApprovalRecovers(t *testing.T, h *harness) {
	t.Helper()
	require.True(t, h.signedIn(h.browser), "the session survives the store's failure")
	asked := h.postTransfer()
	if asked.body == "sent" {
		return // an approval the failed request left unused
	}
	require.Equal(t, http.StatusForbidden, asked.status, asked.body)
	h.approveFromPage(asked)
	assert.Equal(t, "sent", h.postTransfer().body, "recovers")
}

// approvalAsked posts the form of an action that needs approval: the
// middleware stores a new flow and explains.
func approvalAsked(t *testing.T, h *harness) (func() page, func(page)) {
	h.transferRoutes(0)
	require.Equal(t, http.StatusOK, h.login().status)
	h.clock.Advance(2 * time.Minute)

	check := func(p page) {
		if p.status == http.StatusForbidden && strings.Contains(p.body, "Approve with ZenKey") {
			assertApprovalRecovers(t, h)
			return
		}
		assertStoreRefusal(t, p)
		assertApprovalRecovers(t, h)
	}
	return h.postTransfer, check
}

// approvalUsed posts the form of an action the user approved: the
// approval is used up (a write) and the action runs, once.
func approvalUsed(t *testing.T, h *harness) (func() page, func(page)) {
	h.transferRoutes(0)
	require.Equal(t, http.StatusOK, h.login().status)
	require.Equal(t, "transfer form", h.approveFromPage(h.postTransfer()).body)
	h.clock.Advance(2 * time.Minute)

	check := func(p page) {
		if p.body == "sent" {
			assert.Equal(t, http.StatusForbidden, h.postTransfer().status,
				"an approval is used once")
			return
		}
		assertStoreRefusal(t, p)
		assertApprovalRecovers(t, h)
	}
	return h.postTransfer, check
}

// approvalReturns brings the browser back from the provider with the
// approval's code: the middleware takes the flow, reads the session and
// records the approval in it.
func approvalReturns(t *testing.T, h *harness) (func() page, func(page)) {
	h.transferRoutes(0)
	require.Equal(t, http.StatusOK, h.login().status)
	asked := h.postTransfer()
	require.Equal(t, http.StatusForbidden, asked.status)
	var callback *url.URL
	walk := *h.browser
	walk.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/callback" && req.URL.Query().Get("code") != "" {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	h.do(&walk, http.MethodGet, approvalLink(t, asked), true)
	require.NotNil(t, callback, "the approval never came back with a code")

	act := func() page {
		return h.do(noRedirects(h.browser), http.MethodGet, callback.String(),
			true)
	}
	check := func(p page) {
		if p.status == http.StatusSeeOther {
			assert.Equal(t, "sent", h.postTransfer().body,
				"an approval answered as done is recorded")
			return
		}
		assertStoreRefusal(t, p)
		assert.Equal(t, http.StatusForbidden, h.postTransfer().status,
			"a failed approval approves nothing")
		assertApprovalRecovers(t, h)
	}
	return act, check
}

func TestStoreFaultsOnApprovals(t *testing.T) {
	for _, p := range []storePath{
		{"asked", approvalAsked},
		{"used", approvalUsed},
		{"returning from the provider", approvalReturns},
	} {
		t.Run(p.name, func(t *testing.T) { runStorePath(t, p) })
	}
}
