package zenkey_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// clock is a settable time source shared by the app and the provider.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness is an app protected by the middleware, a zenkeytest provider,
// and a browser with a cookie jar that walks the real redirect chain.
type harness struct {
	t       testing.TB
	idp     *zenkeytest.Server
	zk      *zenkey.Middleware
	app     *httptest.Server
	browser *http.Client
	clock   *clock
	opts    zenkey.Options
	tokens  *tokenRecorder
	mux     *http.ServeMux // tests add their own routes
}

const (
	testClientID = "zenkey-test-client"
	testSecret   = "zenkey-test-secret"
	testSubject  = "310999-0123456789abcdef"
)

var testMasterKey = []byte("0123456789abcdef0123456789abcdef-master")

// newHarness starts a provider and an app; edit may change the options
// before New.
func newHarness(t testing.TB, edit func(*zenkey.Options)) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), tokens: &tokenRecorder{}}
	h.idp = zenkeytest.NewTLSServer(zenkeytest.Config{
		ClientID: testClientID, ClientSecret: testSecret, Now: h.clock.Now, Subject: testSubject,
	})
	t.Cleanup(h.idp.Close)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "https://" + l.Addr().String()
	h.opts = zenkey.Options{
		ClientID:       testClientID,
		ClientSecret:   testSecret,
		RedirectURL:    base + "/auth/callback",
		SecretKey:      testMasterKey,
		DiscoveryUIURL: h.idp.DiscoveryUIURL,
		DiscoveryURL:   h.idp.DiscoveryURL,
		Now:            h.clock.Now,
		HTTPClient:     h.tokens.client(h.idp.Client()),
	}
	if edit != nil {
		edit(&h.opts)
	}
	h.zk, err = zenkey.New(h.opts)
	require.NoError(t, err)

	h.app = httptest.NewUnstartedServer(h.zk.Handler(h.routes()))
	h.app.Listener.Close()
	h.app.Listener = l
	startHTTP2(h.app)
	t.Cleanup(h.app.Close)
	h.browser = h.newBrowser()
	return h
}

// routes is the protected app: a public home and a protected profile.
func (h *harness) routes() http.Handler {
	mux := http.NewServeMux()
	h.mux = mux
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s := zenkey.SessionFromContext(r.Context()); s != nil {
			io.WriteString(w, "home of "+s.Subject())
			return
		}
		io.WriteString(w, "home, signed out")
	})
	mux.Handle("/profile", h.zk.RequireLogin(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "profile of "+zenkey.SessionFromContext(r.Context()).Subject())
		})))
	return mux
}

// startHTTP2 starts an app server that takes a thousand concurrent
// requests on one connection, so the concurrency tests measure the app,
// not TLS handshakes.
func startHTTP2(s *httptest.Server) {
	s.EnableHTTP2 = true
	s.Config.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1000}
	s.StartTLS()
	t := s.Client().Transport.(*http.Transport)
	t.HTTP2 = &http.HTTP2Config{StrictMaxConcurrentRequests: true}
}

// newBrowser returns a client with its own cookie jar that trusts the test
// servers' certificate.
func (h *harness) newBrowser() *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	c := h.app.Client()
	return &http.Client{Transport: c.Transport, Jar: jar}
}

// page is one response as the browser saw it.
type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

// do sends a request from browser b; navigation requests carry
// Accept: text/html like a real browser.
func (h *harness) do(b *http.Client, method, target string, nav bool) page {
	h.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = h.app.URL + target
	}
	req, err := http.NewRequest(method, target, nil)
	require.NoError(h.t, err)
	if nav {
		req.Header.Set("Accept", "text/html")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", h.app.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return h.fetch(b, req)
}

// fetch sends req from browser b and reads the answer.
func (h *harness) fetch(b *http.Client, req *http.Request) page {
	h.t.Helper()
	resp, err := b.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return page{resp.StatusCode, resp.Request.URL, string(body), resp.Header}
}

// login walks the whole login from the protected profile page.
func (h *harness) login() page {
	h.t.Helper()
	return h.do(h.browser, http.MethodGet, "/profile", true)
}

// signedIn reports whether the browser's session opens the profile.
func (h *harness) signedIn(b *http.Client) bool {
	h.t.Helper()
	p := h.do(b, http.MethodGet, "/profile", false)
	require.Contains(h.t, []int{http.StatusOK, http.StatusUnauthorized}, p.status, p.body)
	return p.status == http.StatusOK
}

// callbackURL walks a login until the provider sends the browser back with
// a code, and returns that callback URL without following it.
func (h *harness) callbackURL(b *http.Client) *url.URL {
	h.t.Helper()
	var caught *url.URL
	c := *b
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/auth/callback" && req.URL.Query().Get("code") != "" {
			caught = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	h.do(&c, http.MethodGet, "/auth/login", true)
	require.NotNil(h.t, caught, "login never reached the callback with a code")
	return caught
}

// tokenRecorder remembers every token the provider issued, so tests can
// assert none of them reaches the browser.
type tokenRecorder struct {
	mu     sync.Mutex
	bodies []string
}

func (r *tokenRecorder) client(base *http.Client) *http.Client {
	return &http.Client{Transport: recordingTransport{r, base.Transport}, Timeout: 30 * time.Second}
}

type recordingTransport struct {
	r    *tokenRecorder
	base http.RoundTripper
}

func (t recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.r.mu.Lock()
	t.r.bodies = append(t.r.bodies, string(body))
	t.r.mu.Unlock()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp, nil
}

// readForm reads the form a request carries and returns it with a copy of
// the request whose body can be sent on.
func readForm(req *http.Request) (url.Values, *http.Request, error) {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, nil, err
	}
	form, _ := url.ParseQuery(string(body))
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	return form, out, nil
}

// postForm posts a form to the app from browser b, same-origin.
func (h *harness) postForm(b *http.Client, path string, form url.Values) page {
	h.t.Helper()
	return h.postBody(b, path, strings.NewReader(form.Encode()))
}

// postBody posts body to the app from b as a same-origin form, and reads
// the answer.
func (h *harness) postBody(b *http.Client, path string, body io.Reader) page {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.app.URL+path, body)
	require.NoError(h.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Origin", h.app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return h.fetch(b, req)
}
