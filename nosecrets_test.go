package zenkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// These tests run the main flows with a Debug logger and an event hook, and
// look for every secret in what was logged, in every event and in
// everything the browser saw: no token (nor a piece of one), client secret,
// master secret, session id or cookie value may appear anywhere but in the
// cookie itself.

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// witness collects what an app logged and emitted, and what its browsers
// saw.
type witness struct {
	logs syncBuffer

	mu     sync.Mutex
	events []zenkey.Event
	seen   []sighting
}

// sighting is one response as a browser saw it.
type sighting struct {
	url    string
	header http.Header
	body   string
}

// watch makes the app log everything at Debug level as JSON, and hand its
// events to w.
func (w *witness) watch(o *zenkey.Options) {
	o.Logger = slog.New(slog.NewJSONHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.OnEvent = func(e zenkey.Event) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events = append(w.events, e)
	}
}

// browser returns a new browser of h's whose every response w records.
func (w *witness) browser(h *harness) *http.Client {
	b := h.newBrowser()
	b.Transport = seeingTransport{w, b.Transport}
	return b
}

type seeingTransport struct {
	w    *witness
	base http.RoundTripper
}

func (t seeingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	t.w.mu.Lock()
	t.w.seen = append(t.w.seen, sighting{req.URL.String(), resp.Header.Clone(), string(body)})
	t.w.mu.Unlock()
	return resp, nil
}

// secrets maps each secret value, in each spelling looked for, to a name.
type secrets map[string]string

func (s secrets) add(name, value string) {
	if len(value) >= 8 { // shorter strings turn up by chance
		s[value] = name
	}
}

// addBytes adds b as it is, in hex and in each base64 alphabet.
func (s secrets) addBytes(name string, b []byte) {
	s.add(name, string(b))
	s.add(name+" in hex", hex.EncodeToString(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		s.add(name+" in base64", enc.EncodeToString(b))
	}
}

// addJWT adds a JWT and each of its segments.
func (s secrets) addJWT(name, jwt string) {
	s.add(name, jwt)
	for i, seg := range strings.Split(jwt, ".") {
		s.add(fmt.Sprintf("%s segment %d", name, i+1), seg)
	}
}

// credentials are the app's own secrets.
func credentials() secrets {
	s := secrets{}
	s.add("client secret", testSecret)
	s.add("client secret (Basic)", base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)))
	s.addBytes("master secret", testMasterKey)
	return s
}

// addTokens adds every token the provider issued through h's app.
func (s secrets) addTokens(t *testing.T, h *harness) {
	h.tokens.mu.Lock()
	defer h.tokens.mu.Unlock()
	for _, body := range h.tokens.bodies {
		var resp map[string]any
		if json.Unmarshal([]byte(body), &resp) != nil {
			continue
		}
		for _, name := range []string{"access_token", "refresh_token"} {
			if v, ok := resp[name].(string); ok {
				s.add(name, v)
			}
		}
		if v, ok := resp["id_token"].(string); ok {
			s.addJWT("id_token", v)
		}
	}
}

// sessionCookies returns the session cookie values the app set in what w
// saw, and adds them and the session ids in them to s.
func (s secrets) addSessionCookies(t *testing.T, w *witness) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var values []string
	for _, seen := range w.seen {
		resp := http.Response{Header: seen.header}
		for _, c := range resp.Cookies() {
			if c.Name != "__Host-zenkey" || c.Value == "" {
				continue
			}
			values = append(values, c.Value)
			s.add("session cookie", c.Value)
			s.addBytes("session id", sessionID(t, c.Value))
		}
	}
	return values
}

// sessionID takes the session id out of a session cookie value:
// base64url("date|base64url(id)|mac"), as securecookie encodes it.
func sessionID(t *testing.T, value string) []byte {
	raw, err := base64.URLEncoding.DecodeString(value)
	require.NoError(t, err)
	parts := bytes.SplitN(raw, []byte("|"), 3)
	require.Len(t, parts, 3)
	id, err := base64.URLEncoding.DecodeString(string(parts[1]))
	require.NoError(t, err)
	require.Len(t, id, 32)
	return id
}

// assertClean checks that no secret appears in text.
func assertClean(t *testing.T, where, text string, s secrets) {
	t.Helper()
	for value, name := range s {
		assert.NotContains(t, text, value, "%s shows the %s", where, name)
	}
}

// assertNothingLeaked checks w's logs, events and sightings for s; cookie
// values may appear in Set-Cookie alone.
func (w *witness) assertNothingLeaked(t *testing.T, s secrets, cookieValues []string) {
	t.Helper()
	assertClean(t, "the log", w.logs.String(), s)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, e := range w.events {
		assertClean(t, fmt.Sprintf("event %d (%s)", i, e.Kind), fmt.Sprintf("%+v %#v", e, e), s)
	}
	cookieSecrets := secrets{}
	for _, v := range cookieValues {
		cookieSecrets.add("session cookie", v)
	}
	for _, seen := range w.seen {
		assertClean(t, "a URL the browser visited", seen.url, s)
		assertClean(t, "a page at "+seen.url, seen.body, s)
		for name, values := range seen.header {
			where := fmt.Sprintf("header %s at %s", name, seen.url)
			for _, v := range values {
				if name == "Set-Cookie" {
					// The cookie carries the session id: that is its job.
					for value, what := range s {
						if !strings.HasPrefix(what, "session ") {
							assert.NotContains(t, v, value, "%s shows the %s", where, what)
						}
					}
					continue
				}
				assertClean(t, where, v, s)
			}
		}
	}
}

func TestNoSecretInLogsEventsOrPages(t *testing.T) {
	w := &witness{}
	store := &faultyStore{Store: zenkey.NewMemoryStore()}
	upstream := newAPI(t)
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		longSessions(o)
		o.Store = store
		o.UserInfoTTL = time.Minute
		o.AllowLogoutEverywhere = true
	})
	h.tokenRoute()
	h.userInfoRoute()
	api, _ := url.Parse(upstream.URL + "/v1")
	h.mux.Handle("/api/", h.zk.APIProxy("/api/", api))

	// A login, and refused ones: a wrong nonce, a tampered token, a
	// provider that refuses the code, a carrier that denies.
	b := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	for _, refuse := range []func(){
		func() { h.idp.EditClaims(func(c map[string]any) { c["nonce"] = "another" }) },
		func() { h.idp.EditIDToken(func(jwt string) string { return jwt + "\n" }) },
		func() { h.idp.SetTokenError("invalid_grant") },
		func() { h.idp.SetAuthorizeError("access_denied", "the user said no") },
	} {
		refuse()
		assert.Equal(t, http.StatusBadRequest, h.do(w.browser(h), http.MethodGet, "/profile", true).status)
		h.idp.Heal()
	}

	// Refresh, userinfo, the API proxy.
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(b, http.MethodGet, "/token", false).body)
	assert.Contains(t, h.do(b, http.MethodGet, "/me", false).body, "ok ")
	assert.Equal(t, "api:/v1/items:", h.do(b, http.MethodGet, "/api/items", false).body)

	// A refresh that the provider refuses ends another session.
	ended := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(ended, http.MethodGet, "/profile", true).status)
	h.clock.Advance(30 * time.Minute)
	h.idp.SetTokenError("invalid_grant")
	assert.Equal(t, http.StatusUnauthorized, h.do(ended, http.MethodGet, "/token", false).status)
	h.idp.Heal()

	// The store fails on a request and on a logout.
	store.failGet.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, h.do(b, http.MethodGet, "/profile", true).status)
	store.failGet.Store(false)
	store.failDelete.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, h.do(b, http.MethodPost, "/auth/logout", true).status)
	store.failDelete.Store(false)

	// Logout, and logout everywhere.
	other := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(other, http.MethodGet, "/profile", true).status)
	assert.Equal(t, "home, signed out", h.do(b, http.MethodPost, "/auth/logout", true).body)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	assert.Equal(t, http.StatusSeeOther, h.postForm(noRedirects(b), "/auth/logout",
		url.Values{"everywhere": {"1"}}).status)
	h.zk.WaitRevocations()

	s := credentials()
	s.addTokens(t, h)
	cookies := s.addSessionCookies(t, w)
	require.GreaterOrEqual(t, len(cookies), 4, "the sessions' cookies were seen")
	require.Greater(t, len(s), 30, "tokens and ids were collected")
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "signed in", "tokens refreshed", "request refused", "signed out",
		"store read failed", "malformed id_token")
}

func TestNoSecretInBackchannelLogout(t *testing.T) {
	w := &witness{}
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		useIssuer(o)
		o.ProviderLogout = true
	})
	b := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	sid, _ := h.idTokenClaims()["sid"].(string)
	require.NotEmpty(t, sid)

	s := credentials()
	valid := h.idp.LogoutToken("", sid)
	s.addJWT("logout token", valid)
	status, _ := h.postLogoutToken(valid)
	require.Equal(t, http.StatusOK, status)
	replayed, _ := h.postLogoutToken(valid)
	require.Equal(t, http.StatusBadRequest, replayed)
	tampered := valid[:len(valid)/2] + "\r\n" + valid[len(valid)/2:]
	bad, _ := h.postLogoutToken(tampered)
	require.Equal(t, http.StatusBadRequest, bad)

	// A provider logout, through the provider's end_session endpoint.
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	assert.Equal(t, "home, signed out", h.do(b, http.MethodPost, "/auth/logout", true).body)
	h.zk.WaitRevocations()

	s.addTokens(t, h)
	cookies := s.addSessionCookies(t, w)
	require.NotEmpty(t, cookies)
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "back-channel logout", "request refused")
}

// assertLogged checks that each message was logged: the search for
// secrets looked at a log with something in it.
func (w *witness) assertLogged(t *testing.T, messages ...string) {
	t.Helper()
	logs := w.logs.String()
	for _, msg := range messages {
		assert.Contains(t, logs, `"msg":"zenkey: `+msg, "never logged")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		assert.True(t, json.Valid([]byte(line)), "a log line is not one JSON record: %s", line)
	}
}

func noRedirects(b *http.Client) *http.Client {
	c := *b
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// TestNothingLoggedWithoutALogger runs the flows without Options.Logger,
// with the log and slog defaults writing to buffers: both stay empty.
func TestNothingLoggedWithoutALogger(t *testing.T) {
	var std, structured syncBuffer
	defaultLogger, logOutput, logFlags := slog.Default(), log.Writer(), log.Flags()
	log.SetOutput(&std)
	slog.SetDefault(slog.New(slog.NewTextHandler(&structured, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() {
		slog.SetDefault(defaultLogger)
		log.SetOutput(logOutput)
		log.SetFlags(logFlags)
	})

	store := &faultyStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) {
		longSessions(o)
		o.Store = store
	})
	h.tokenRoute()
	require.Equal(t, http.StatusOK, h.login().status)
	h.idp.EditIDToken(func(jwt string) string { return jwt + "\n" })
	assert.Equal(t, http.StatusBadRequest, h.do(h.newBrowser(), http.MethodGet, "/profile", true).status)
	h.idp.Heal()
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
	store.failGet.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, h.do(h.browser, http.MethodGet, "/profile", true).status)
	store.failGet.Store(false)
	h.idp.Fail(zenkeytest.Revoke, http.StatusInternalServerError)
	assert.Equal(t, "home, signed out", h.do(h.browser, http.MethodPost, "/auth/logout", true).body)
	h.zk.WaitRevocations()

	assert.Empty(t, ours(std.String()), "the package log was written to")
	assert.Empty(t, ours(structured.String()), "the default slog logger was written to")
}

// ours drops the lines net/http's servers log about their connections
// (such as a TLS handshake a test client broke off): they are the test
// servers', not the middleware's.
func ours(logs string) string {
	var kept []string
	for _, line := range strings.Split(logs, "\n") {
		if line != "" && !strings.Contains(line, "http: ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}

// TestSourcesNeverPrint reads the root package's sources: nothing in them
// writes to standard output or error, or to the default loggers, so only
// Options.Logger can ever receive a line.
func TestSourcesNeverPrint(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	forbidden := map[string]map[string]bool{
		"fmt":  {"Print": true, "Printf": true, "Println": true},
		"log":  nil, // every function of package log
		"os":   {"Stdout": true, "Stderr": true},
		"slog": {"Default": true, "Debug": true, "Info": true, "Warn": true, "Error": true, "Log": true, "LogAttrs": true, "DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true},
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		checked++
		imported := map[string]string{} // local name → import path
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			local := filepath.Base(path)
			if imp.Name != nil {
				local = imp.Name.Name
			}
			imported[local] = path
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				x, ok := n.X.(*ast.Ident)
				if !ok || x.Obj != nil {
					return true
				}
				path := imported[x.Name]
				names, watched := forbidden[filepath.Base(path)]
				if watched && (path == "fmt" || path == "log" || path == "os" || path == "log/slog") &&
					(names == nil || names[n.Sel.Name]) {
					t.Errorf("%s: %s.%s writes outside Options.Logger", fset.Position(n.Pos()), x.Name, n.Sel.Name)
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" || id.Name == "println") && id.Obj == nil {
					t.Errorf("%s: %s writes to standard error", fset.Position(n.Pos()), id.Name)
				}
			}
			return true
		})
	}
	assert.Greater(t, checked, 10)
}
