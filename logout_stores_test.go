package zenkey_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// instancePair is two app instances sharing one store's data, as behind a
// load balancer, and a standard provider. Instance A's store can fail its
// deletes on demand, the provider's revocation endpoint can be made slow,
// and a journal records, in order, the deletions A's store confirmed and
// the revocation requests the instances sent.
type instancePair struct {
	a, b        *harness
	faults      *faultyStore // A's store
	revocations *revocationHold
	journal     *journal
}

// newInstancePair starts two instances over fresh data of kind's store;
// edits, when not nil, change both instances' options last.
func newInstancePair(t *testing.T, kind storeKind, edits ...func(*zenkey.Options)) *instancePair {
	open := kind.open(t)
	p := &instancePair{journal: &journal{}, revocations: &revocationHold{}}
	p.faults = &faultyStore{Store: &journalStore{Store: open(), j: p.journal}}
	p.a = newHarness(t, func(o *zenkey.Options) {
		useIssuer(o) // back-channel logout is for standard providers
		o.Store = p.faults
		o.AllowLogoutEverywhere = true
		p.revocations.base = o.HTTPClient.Transport
		o.HTTPClient = &http.Client{
			Transport: journalTransport{p.journal, p.revocations},
			Timeout:   o.HTTPClient.Timeout,
		}
		for _, edit := range edits {
			if edit != nil {
				edit(o)
			}
		}
	})
	p.b = p.a.secondInstance(open())
	return p
}

// TestLogoutOnEveryStore runs every kind of logout against every store,
// with two app instances sharing it: whichever instance destroyed the
// session, the other refuses it at once, even to a copy of the cookie kept
// from before the logout; a logout the store did not confirm is never
// answered as one; tokens are revoked only once the session is gone.
func TestLogoutOnEveryStore(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, p *instancePair)
	}{
		{"local logout refuses the stolen cookie on the other instance", testLocalLogout},
		{"log out everywhere on B ends the sessions made on A", testLogoutEverywhereAcross},
		{"back-channel logout on A, its token replayed on B", testBackchannelAcross},
		{"a delete the store did not confirm is retried", testUnconfirmedDelete},
		{"revocation runs after the session is destroyed", testRevocationOrder},
	}
	for _, kind := range storeKinds() {
		t.Run(kind.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					p := newInstancePair(t, kind)
					tt.run(t, p)
					p.a.zk.WaitRevocations()
					p.b.zk.WaitRevocations()
				})
			}
		})
	}
}

// testLocalLogout logs out on A and replays, by hand, the cookie an
// attacker copied before: both instances refuse it.
func testLocalLogout(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	stolen := a.cookies(a.browser)
	require.Equal(t, http.StatusOK, b.replay(stolen), "the copy works before the logout")

	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, "home, signed out", page.body)
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen), "refused by the other instance")
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen),
		"refused by the instance that logged out")
}

// testLogoutEverywhereAcross signs the user in on two browsers through A,
// and logs out everywhere through B: A refuses both.
func testLogoutEverywhereAcross(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	laptop := a.newBrowser()
	a.do(laptop, http.MethodGet, "/profile", true)
	require.True(t, a.signedIn(laptop))
	stolen := a.cookies(a.browser)

	page := b.postForm(a.browser, "/auth/logout", url.Values{"everywhere": {"1"}})

	assert.Equal(t, "home, signed out", page.body)
	assert.False(t, a.signedIn(laptop), "the other browser's session is gone on A")
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen))
}

// testBackchannelAcross posts a provider's logout token to A, which
// destroys the session for both instances; the same token replayed on B
// is refused, because the jti A saw is remembered in the shared store.
func testBackchannelAcross(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	sid, _ := a.idTokenClaims()["sid"].(string)
	require.NotEmpty(t, sid)
	stolen := a.cookies(a.browser)
	tok := a.idp.LogoutToken("", sid)

	status, _ := a.postLogoutToken(tok)

	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, http.StatusUnauthorized, b.replay(stolen), "the session is gone on B")
	assert.Equal(t, http.StatusUnauthorized, a.replay(stolen), "and on A")
	status, header := b.postLogoutToken(tok)
	assert.Equal(t, http.StatusBadRequest, status, "B refuses the jti that A used")
	assert.Equal(t, "no-store", header.Get("Cache-Control"))
}

// testUnconfirmedDelete fails A's store deletes during a logout: the answer
// is 503, the cookie stays, the session still works on both instances and
// nothing is revoked; the retry then logs out for real.
func testUnconfirmedDelete(t *testing.T, p *instancePair) {
	a, b := p.a, p.b
	a.login()
	p.faults.failDelete.Store(true)

	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, http.StatusServiceUnavailable, page.status)
	assert.NotContains(t, strings.ToLower(page.body), "signed out")
	require.Len(t, a.cookies(a.browser), 1, "the cookie is kept for a retry")
	assert.True(t, a.signedIn(a.browser), "the session still works on A")
	assert.True(t, b.signedIn(a.browser), "and on B")
	a.zk.WaitRevocations()
	assert.Zero(t, a.idp.Calls(zenkeytest.Revoke), "no revocation for a session that is not gone")

	p.faults.failDelete.Store(false)
	page = a.do(a.browser, http.MethodPost, "/auth/logout", true)

	assert.Equal(t, "home, signed out", page.body, "the retry finishes the job")
	assert.False(t, b.signedIn(a.browser))
	a.zk.WaitRevocations()
	assert.Equal(t, 2, a.idp.RevokedCount(), "the retry revokes both tokens")
}

// testRevocationOrder checks, from the journal, that the store confirmed
// the deletion before the first revocation request left A.
func testRevocationOrder(t *testing.T, p *instancePair) {
	a := p.a
	a.login()
	issued := a.issuedTokens()
	p.journal.reset() // the login's own writes do not count

	page := a.do(a.browser, http.MethodPost, "/auth/logout", true)
	a.zk.WaitRevocations()

	require.Equal(t, "home, signed out", page.body)
	assert.Equal(t, []string{"store deleted", "revoke", "revoke"}, p.journal.entries())
	assert.True(t, a.idp.IsRevoked(issued["refresh_token"]))
	assert.True(t, a.idp.IsRevoked(issued["access_token"]))
}

// replay sends GET /profile with exactly cookies, set by hand on a client
// without a jar (a jar drops a cookie the logout cleared), and returns the
// status: 200 signed in, 401 refused.
func (h *harness) replay(cookies []*http.Cookie) int {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.app.URL+"/profile", nil)
	require.NoError(h.t, err)
	req.Header.Set("Accept", "application/json")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{Transport: h.app.Client().Transport}).Do(req)
	require.NoError(h.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// A journal is an ordered record of what a test observed.
type journal struct {
	mu   sync.Mutex
	list []string
}

func (j *journal) add(entry string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = append(j.list, entry)
}

func (j *journal) entries() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.list...)
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.list = nil
}

// journalStore notes each session deletion the store confirmed.
type journalStore struct {
	zenkey.Store
	j *journal
}

func (s *journalStore) Delete(ctx context.Context, key string) error {
	err := s.Store.Delete(ctx, key)
	if err == nil {
		s.j.add("store deleted")
	}
	return err
}

// journalTransport notes each revocation request as it is sent.
type journalTransport struct {
	j    *journal
	base http.RoundTripper
}

func (t journalTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/revoke") {
		t.j.add("revoke")
	}
	return t.base.RoundTrip(req)
}

// revocationHold makes the provider's revocation endpoint slow, as the app
// sees it: while held, a revocation request waits until it is let go (then
// it goes through) or until its sender gives up.
type revocationHold struct {
	base http.RoundTripper
	mu   sync.Mutex
	gate chan struct{} // nil when not held
}

func (h *revocationHold) hold() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gate == nil {
		h.gate = make(chan struct{})
	}
}

func (h *revocationHold) letGo() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gate != nil {
		close(h.gate)
		h.gate = nil
	}
}

func (h *revocationHold) RoundTrip(req *http.Request) (*http.Response, error) {
	h.mu.Lock()
	gate := h.gate
	h.mu.Unlock()
	if gate != nil && strings.HasSuffix(req.URL.Path, "/revoke") {
		select {
		case <-gate:
		case <-req.Context().Done():
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, req.Context().Err()
		}
	}
	return h.base.RoundTrip(req)
}
