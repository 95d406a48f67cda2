package zenkey_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
)

// The bodies the middleware reads itself are bounded: a back-channel
// logout request to 32 KiB, a logout form to 4 KiB. A larger body is
// refused, or its fields ignored, and it is not read past the bound. The
// bounds of the caches are in limits_internal_test.go.

// meterBodies makes h's app count the bytes it reads of request bodies.
func (h *harness) meterBodies() *atomic.Int64 {
	read := &atomic.Int64{}
	app := h.app.Config.Handler
	h.app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = meteredBody{r.Body, read}
		app.ServeHTTP(w, r)
	})
	return read
}

type meteredBody struct {
	io.ReadCloser
	read *atomic.Int64
}

func (b meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

// flood is a form of n bytes and more: prefix, then a last field whose
// value goes on and on. It has no length the app could check up front.
func flood(prefix string, n int64) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), io.LimitReader(letters{}, n))
}

type letters struct{}

func (letters) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestBackchannelLogoutBodyLimit posts back-channel logouts that carry a
// valid logout token first and padding after it. Past 32 KiB the request
// is refused whole (400 or 413) and not read past the limit; within it,
// the token is taken.
func TestBackchannelLogoutBodyLimit(t *testing.T) {
	const path = "/auth/backchannel-logout"
	h := newHarness(t, useIssuer)
	read := h.meterBodies()
	require.Equal(t, http.StatusOK, h.login().status)
	provider := h.app.Client()
	form := "logout_token=" + url.QueryEscape(h.idp.LogoutToken(testSubject, "")) + "&padding="

	over := h.postBody(provider, path, strings.NewReader(form+strings.Repeat("a", 40<<10)))
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, over.status,
		over.body)
	assert.True(t, h.signedIn(h.browser),
		"a logout request past the limit was read, and destroyed the session")

	read.Store(0)
	flooded := h.postBody(provider, path, flood(form, 16<<20))
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge},
		flooded.status, flooded.body)
	assert.Less(t, read.Load(), int64(64<<10), "the app read a logout request on past the limit")
	assert.True(t, h.signedIn(h.browser))

	within := h.postBody(provider, path, strings.NewReader(form+strings.Repeat("a", 24<<10)))
	assert.Equal(t, http.StatusOK, within.status, "a request within the limit is read: %s",
		within.body)
	assert.False(t, h.signedIn(h.browser), "its token destroyed the session")
}

// TestLogoutFormLimit posts logout forms that ask to sign out everywhere,
// with padding after. Past 4 KiB the form is not read past the limit and
// its fields count for nothing: at most this browser is signed out, never
// the user's other sessions. Within it, everywhere=1 is honoured.
func TestLogoutFormLimit(t *testing.T) {
	h := newHarness(t, func(o *zenkey.Options) { o.AllowLogoutEverywhere = true })
	read := h.meterBodies()
	phone, laptop := h.newBrowser(), h.newBrowser()
	signIn := func() {
		t.Helper()
		require.Equal(t, http.StatusOK, h.do(phone, http.MethodGet, "/profile", true).status)
		require.Equal(t, http.StatusOK, h.do(laptop, http.MethodGet, "/profile", true).status)
	}
	answered := []int{http.StatusSeeOther, http.StatusRequestEntityTooLarge}
	const form = "everywhere=1&padding="
	signIn()

	p := h.postBody(noRedirects(phone), "/auth/logout", strings.NewReader(form+strings.Repeat("a",
		8<<10)))
	assert.Contains(t, answered, p.status, p.body)
	assert.True(t, h.signedIn(laptop), "everywhere=1 was read from a form past the limit")

	signIn()
	read.Store(0)
	p = h.postBody(noRedirects(phone), "/auth/logout", flood(form, 16<<20))
	assert.Contains(t, answered, p.status, p.body)
	assert.Less(t, read.Load(), int64(16<<10), "the app read a logout form on past the limit")
	assert.True(t, h.signedIn(laptop), "everywhere=1 was read from a form past the limit")

	signIn()
	p = h.postBody(noRedirects(phone), "/auth/logout", strings.NewReader(form+strings.Repeat("a",
		2<<10)))
	assert.Equal(t, http.StatusSeeOther, p.status, p.body)
	assert.False(t, h.signedIn(laptop), "a form within the limit signs out everywhere")
	assert.False(t, h.signedIn(phone))
}
