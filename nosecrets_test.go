package zenkey_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/internal/syncbuf"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// These tests run the main flows with a Debug logger and an event hook, and
// look for every secret in what was logged, in every event and in
// everything the browser saw: no token (nor a piece of one), port token,
// PKCE code verifier, client secret, client assertion, client private key,
// master secret, session id or cookie value may appear anywhere but in the
// cookie itself.

// witness collects what an app logged and emitted, and what its browsers
// saw.
type witness struct {
	logs syncbuf.Buffer

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
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding,
		base64.RawStdEncoding, base64.RawURLEncoding} {
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
	s.add("client secret (Basic)",
		base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testSecret)))
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
			s.addPortTokens(t, v)
		}
	}
}

// addPortTokens adds the port tokens in an id_token's aka claim: JWTs
// signed by the carriers a user moved from.
func (s secrets) addPortTokens(t *testing.T, idToken string) {
	parts := strings.Split(idToken, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		AKA []string `json:"aka"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	for _, port := range claims.AKA {
		s.addJWT("port token", strings.TrimSpace(port))
	}
}

// addForms adds the secrets the app sent the provider: each PKCE code
// verifier and each client assertion. It returns how many of each.
func (s secrets) addForms(tap *formTap) (verifiers, assertions int) {
	for _, v := range tap.values("code_verifier") {
		s.add("PKCE code verifier", v)
		verifiers++
	}
	for _, a := range tap.values("client_assertion") {
		s.addJWT("client assertion", a)
		assertions++
	}
	return verifiers, assertions
}

// assertVerifierCaught checks that the tap caught the verifier of the
// provider's last authorization: its S256 is that request's challenge.
func assertVerifierCaught(t *testing.T, h *harness, tap *formTap) {
	t.Helper()
	verifiers := tap.values("code_verifier")
	require.NotEmpty(t, verifiers, "no code exchange carried a code_verifier")
	sum := sha256.Sum256([]byte(verifiers[len(verifiers)-1]))
	assert.Equal(t, h.idp.LastAuthorize().Get("code_challenge"),
		base64.RawURLEncoding.EncodeToString(sum[:]),
		"the tap did not catch the verifier of the last login")
}

// addClientKey adds the client's private key: its PEM file, whole and by
// line, its DER in every encoding, and its private numbers as fmt and
// big.Int print them.
func (s secrets) addClientKey(t *testing.T, pemText []byte, key *rsa.PrivateKey) {
	s.add("client key (PEM)", string(pemText))
	block, _ := pem.Decode(pemText)
	require.NotNil(t, block)
	s.addBytes("client key (DER)", block.Bytes)
	for _, line := range strings.Split(string(pemText), "\n") {
		if !strings.HasPrefix(line, "-----") {
			s.add("client key (PEM line)", line)
		}
	}
	for _, n := range append([]*big.Int{key.D}, key.Primes...) {
		s.addBytes("client key private number", n.Bytes())
		s.add("client key private number", n.String())
		s.add("client key private number in hex", n.Text(16))
	}
}

// count is how many spellings of secrets named name s holds.
func (s secrets) count(name string) int {
	n := 0
	for _, what := range s {
		if strings.HasPrefix(what, name) {
			n++
		}
	}
	return n
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
	tap := &formTap{}
	store := &faultyStore{Store: zenkey.NewMemoryStore()}
	upstream := newAPI(t)
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		tap.install(o)
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
		assert.Equal(t, http.StatusBadRequest, h.do(w.browser(h), http.MethodGet, "/profile",
			true).status)
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
	assert.Equal(t, http.StatusServiceUnavailable, h.do(b, http.MethodPost, "/auth/logout",
		true).status)
	store.failDelete.Store(false)

	// Logout, and logout everywhere.
	other := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(other, http.MethodGet, "/profile", true).status)
	assert.Equal(t, "home, signed out", h.do(b, http.MethodPost, "/auth/logout", true).body)
	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	assert.Equal(t, http.StatusSeeOther, h.postForm(noRedirects(b), "/auth/logout",
		url.Values{"everywhere": {"1"}}).status)
	h.zk.WaitRevocations()
	assertVerifierCaught(t, h, tap)

	s := credentials()
	s.addTokens(t, h)
	verifiers, _ := s.addForms(tap)
	require.GreaterOrEqual(t, verifiers, 4, "the code exchanges' verifiers were caught")
	cookies := s.addSessionCookies(t, w)
	require.GreaterOrEqual(t, len(cookies), 4, "the sessions' cookies were seen")
	require.Greater(t, len(s), 30, "tokens and ids were collected")
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "signed in", "tokens refreshed", "request refused", "signed out",
		"store read failed", "malformed id_token")
}

func TestNoSecretInBackchannelLogout(t *testing.T) {
	w := &witness{}
	tap := &formTap{}
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		tap.install(o)
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
	assertVerifierCaught(t, h, tap)

	s.addTokens(t, h)
	verifiers, _ := s.addForms(tap)
	require.Equal(t, 2, verifiers, "both logins' verifiers were caught")
	cookies := s.addSessionCookies(t, w)
	require.NotEmpty(t, cookies)
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "back-channel logout", "request refused")
}

// TestNoSecretInApprovalsAndCarrierMigration runs the logins of a user who
// moved carrier, with a port token that proves the old subject and then
// with ones that are refused, and transaction approvals: one refused for
// another action, one granted and used, one the store fails to use up, a
// page load approved, and an API call refused.
func TestNoSecretInApprovalsAndCarrierMigration(t *testing.T) {
	w := &witness{}
	tap := &formTap{}
	store := &brokenStore{Store: zenkey.NewMemoryStore()}
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		tap.install(o)
		longSessions(o)
		o.Store = store
	})
	h.transferRoutes(0)
	h.previousRoute()
	h.browser = w.browser(h)

	// Carrier migration: a valid port token, then a login whose port
	// tokens are refused, one for another user, one not canonical.
	issuer := h.idp.AddPreviousCarrier("311480", oldSubject)
	require.Equal(t, http.StatusOK, h.login().status)
	assert.Equal(t, oldSubject, h.do(h.browser, http.MethodGet, "/previous", false).body)
	now := h.clock.Now()
	stolen := h.idp.PortToken("311480", map[string]any{"iss": issuer, "sub": oldSubject,
		"aud": testClientID, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"ported_to": "310999-mallory"})
	bent := h.idp.PortToken("311480", map[string]any{"iss": issuer, "sub": oldSubject,
		"aud": testClientID, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"ported_to": testSubject}) + "\n"
	h.idp.EditClaims(func(c map[string]any) { c["aka"] = []string{stolen, bent} })
	refusedPorts := w.browser(h)
	require.Equal(t, http.StatusOK, h.do(refusedPorts, http.MethodGet, "/profile", true).status)
	assert.Empty(t, h.do(refusedPorts, http.MethodGet, "/previous", false).body)
	h.idp.Heal()

	// Approvals.
	asked := h.postTransfer()
	require.Equal(t, http.StatusForbidden, asked.status)
	h.idp.EditClaims(func(c map[string]any) { c["context"] = "Send $9999 to Eve" })
	assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden},
		h.approveFromPage(asked).status)
	h.idp.Heal()
	h.approveFromPage(h.postTransfer())
	assert.Equal(t, "sent", h.postTransfer().body)
	h.approveFromPage(h.postTransfer())
	store.breakOp("Update", "fails")
	assert.Equal(t, http.StatusServiceUnavailable, h.postTransfer().status)
	store.heal()
	assert.Equal(t, "sent", h.postTransfer().body)
	assert.Equal(t, "statement", h.do(h.browser, http.MethodGet, "/statement", true).body)
	assert.Equal(t, http.StatusForbidden, h.do(h.browser, http.MethodGet, "/statement",
		false).status)

	assert.Equal(t, "home, signed out", h.do(h.browser, http.MethodPost, "/auth/logout", true).body)
	h.zk.WaitRevocations()
	assertVerifierCaught(t, h, tap)

	s := credentials()
	s.addTokens(t, h)
	require.GreaterOrEqual(t, s.count("port token"), 6, "the port tokens were collected")
	verifiers, _ := s.addForms(tap)
	require.GreaterOrEqual(t, verifiers, 6, "the logins' and approvals' verifiers were caught")
	cookies := s.addSessionCookies(t, w)
	require.GreaterOrEqual(t, len(cookies), 2)
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "signed in", "port token refused", "request refused", "signed out")
}

// TestNoSecretWithPrivateKeyJWT runs the flows of an app that
// authenticates to the provider with private_key_jwt: login, refresh,
// userinfo, a login and a refresh whose assertion the provider refuses,
// and a logout that revokes. Neither an assertion nor the client's
// private key may show.
func TestNoSecretWithPrivateKeyJWT(t *testing.T) {
	path, key := clientKeyFile(t, 0o600)
	pemText, err := os.ReadFile(path)
	require.NoError(t, err)
	w := &witness{}
	tap := &formTap{}
	h := newHarness(t, func(o *zenkey.Options) {
		w.watch(o)
		tap.install(o)
		longSessions(o)
		o.ClientSecret = ""
		o.ClientKeyFile = path
		o.ClientKeyID = "client-key-1"
	})
	h.idp.SetClientKey(&key.PublicKey, true)
	h.tokenRoute()
	h.userInfoRoute()
	b := w.browser(h)

	require.Equal(t, http.StatusOK, h.do(b, http.MethodGet, "/profile", true).status)
	assertVerifierCaught(t, h, tap)
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(b, http.MethodGet, "/token", false).body)
	assert.Equal(t, "ok "+testSubject, h.do(b, http.MethodGet, "/me", false).body)

	// The provider knows another key: it refuses the assertions.
	h.idp.SetClientKey(&newRSAKey(t).PublicKey, true)
	assert.Equal(t, http.StatusBadRequest, h.do(w.browser(h), http.MethodGet, "/profile",
		true).status)
	h.clock.Advance(30 * time.Minute)
	assert.NotEqual(t, "ok", h.do(b, http.MethodGet, "/token", false).body)
	h.idp.SetClientKey(&key.PublicKey, true)

	assert.Equal(t, "home, signed out", h.do(b, http.MethodPost, "/auth/logout", true).body)
	h.zk.WaitRevocations()

	s := credentials()
	s.addClientKey(t, pemText, key)
	s.addTokens(t, h)
	verifiers, assertions := s.addForms(tap)
	require.Equal(t, 2, verifiers, "both logins' verifiers were caught")
	require.GreaterOrEqual(t, assertions, 5,
		"the assertions of every token and revocation request were caught")
	var jtis []string
	for _, a := range tap.values("client_assertion") {
		jtis = append(jtis, assertionJTI(t, a))
	}
	assert.Contains(t, jtis, h.idp.LastClientAssertion()["jti"],
		"the tap caught what the provider got")
	cookies := s.addSessionCookies(t, w)
	require.NotEmpty(t, cookies)
	w.assertNothingLeaked(t, s, cookies)
	w.assertLogged(t, "signed in", "tokens refreshed", "request refused", "signed out")
}

// assertionJTI returns the jti of a client assertion.
func assertionJTI(t *testing.T, assertion string) string {
	parts := strings.Split(assertion, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var c struct {
		JTI string `json:"jti"`
	}
	require.NoError(t, json.Unmarshal(payload, &c))
	return c.JTI
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
	var std, structured syncbuf.Buffer
	defaultLogger, logOutput, logFlags := slog.Default(), log.Writer(), log.Flags()
	log.SetOutput(&std)
	slog.SetDefault(slog.New(slog.NewTextHandler(&structured,
		&slog.HandlerOptions{Level: slog.LevelDebug})))
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
	assert.Equal(t, http.StatusBadRequest, h.do(h.newBrowser(), http.MethodGet, "/profile",
		true).status)
	h.idp.Heal()
	h.clock.Advance(30 * time.Minute)
	assert.Equal(t, "ok", h.do(h.browser, http.MethodGet, "/token", false).body)
	store.failGet.Store(true)
	assert.Equal(t, http.StatusServiceUnavailable, h.do(h.browser, http.MethodGet, "/profile",
		true).status)
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
		"fmt": {"Print": true, "Printf": true, "Println": true},
		"log": nil, // every function of package log
		"os":  {"Stdout": true, "Stderr": true},
		"slog": {"Default": true, "Debug": true, "Info": true, "Warn": true, "Error": true,
			"Log": true, "LogAttrs": true, "DebugContext": true, "InfoContext": true,
			"WarnContext": true, "ErrorContext": true},
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
				if watched && (path == "fmt" || path == "log" || path == "os" ||
					path == "log/slog") &&
					(names == nil || names[n.Sel.Name]) {
					t.Errorf("%s: %s.%s writes outside Options.Logger", fset.Position(n.Pos()),
						x.Name, n.Sel.Name)
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "print" ||
					id.Name == "println") && id.Obj == nil {
					t.Errorf("%s: %s writes to standard error", fset.Position(n.Pos()), id.Name)
				}
			}
			return true
		})
	}
	assert.Greater(t, checked, 10)
}
