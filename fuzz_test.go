package zenkey

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/zenkey-go/zenkey/zenkeytest"
)

// The fuzz targets feed the parsers of what browsers and providers send
// with arbitrary input. Each checks, beside "no panic", what an accepted
// input must be, with a check of its own written apart from the code under
// test: only the keys are shared.

const (
	fuzzClientID = "fuzz-client"
	fuzzSecret   = "fuzz-client-secret"
	fuzzIssuer   = "https://idp.example"
	fuzzKid      = "fuzz-key-1"
	fuzzNonce    = "fuzz-nonce-0123456789abcdefghijklmnop"
	fuzzAccess   = "fuzz-access-token"
	fuzzSubject  = "310999-0123456789abcdef"
	fuzzLeeway   = time.Minute
)

var (
	// fuzzNow is the fixed clock of every fuzzed middleware: inputs that
	// carry times stay valid from one run to the next.
	fuzzNow    = time.Unix(1_800_000_000, 0)
	fuzzMaster = Secret("fuzz-master-secret-0123456789abcdef")
	fuzzOld    = Secret("fuzz-older-secret-0123456789abcdef!")
)

// fuzzKeys are the provider's signing key and a key it never published.
var fuzzKeys = sync.OnceValues(func() (signer, rogue *rsa.PrivateKey) {
	signer, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	rogue, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return signer, rogue
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT makes a compact JWS of header and payload as given: signed with
// RS256 by the provider's key (how 0), by a key it never published (1), or
// with sig as the signature (anything else).
func signJWT(header, payload, sig []byte, how uint8) string {
	input := b64(header) + "." + b64(payload)
	signer, rogue := fuzzKeys()
	key := map[uint8]*rsa.PrivateKey{0: signer, 1: rogue}[how]
	if key != nil {
		sum := sha256.Sum256([]byte(input))
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:]); err != nil {
			panic(err)
		}
	}
	return input + "." + b64(sig)
}

// signedByProvider checks a compact JWS on its own: three segments, an RS256
// header, and a PKCS #1 v1.5 SHA-256 signature by the provider's key. It
// returns the header and payload.
func signedByProvider(t *testing.T, raw string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3, "accepted token is not three segments")
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		require.NoError(t, err, "accepted token has a segment that is not canonical base64url")
		return b
	}
	h, p, sig := dec(parts[0]), dec(parts[1]), dec(parts[2])
	signer, _ := fuzzKeys()
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	require.NoError(t, rsa.VerifyPKCS1v15(&signer.PublicKey, crypto.SHA256, sum[:], sig),
		"accepted token is not signed by the provider's key")
	require.NoError(t, decodeNumbers(h, &header))
	require.NoError(t, decodeNumbers(p, &payload))
	require.Equal(t, "RS256", header["alg"], "accepted token's alg")
	return header, payload
}

func decodeNumbers(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// numericDate reads a NumericDate claim; the checks accept a number, or a
// string holding one (encoding/json's json.Number takes both).
func numericDate(v any) (time.Time, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = v
	default:
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// audienceOf reads aud: a string or an array of strings.
func audienceOf(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case []any:
		var out []string
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// isLogoutType reports whether a JOSE typ names a logout token: media
// types are case-insensitive, and "application/" may be left out
// (RFC 7515, section 4.1.9).
func isLogoutType(typ string) bool {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/") == "logout+jwt"
}

// providerHandler plays a standard provider at fuzzIssuer, in memory: its
// discovery document, its JWKS with the one signing key, and a token
// endpoint whose answer a fuzz target sets.
type providerHandler struct {
	mu          sync.Mutex
	tokenBody   []byte
	tokenType   string
	tokenStatus int
}

func (p *providerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 fuzzIssuer,
			"authorization_endpoint": fuzzIssuer + "/authorize",
			"token_endpoint":         fuzzIssuer + "/token",
			"userinfo_endpoint":      fuzzIssuer + "/userinfo",
			"jwks_uri":               fuzzIssuer + "/jwks",
		})
	case "/jwks":
		signer, _ := fuzzKeys()
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
			Key: &signer.PublicKey, KeyID: fuzzKid, Algorithm: "RS256", Use: "sig",
		}}})
	case "/token":
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.tokenType != "" {
			w.Header().Set("Content-Type", p.tokenType)
		}
		w.WriteHeader(p.tokenStatus)
		w.Write(p.tokenBody)
	default:
		http.NotFound(w, r)
	}
}

// handlerTransport answers every request with a handler, in memory.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, req)
	return w.Result(), nil
}

// fuzzMiddleware returns a middleware on a fixed clock whose provider
// calls reach h, after edit changed its options.
func fuzzMiddleware(t testing.TB, h http.Handler, edit func(*Options)) *Middleware {
	store := NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	o := Options{
		ClientID:     fuzzClientID,
		ClientSecret: fuzzSecret,
		RedirectURL:  "https://app.example/auth/callback",
		SecretKey:    fuzzMaster,
		Store:        store,
		ClockLeeway:  fuzzLeeway,
		Now:          func() time.Time { return fuzzNow },
		HTTPClient:   &http.Client{Transport: handlerTransport{h}, Timeout: 5 * time.Second},
	}
	if edit != nil {
		edit(&o)
	}
	m, err := New(o)
	require.NoError(t, err)
	return m
}

// ---- Session cookie -------------------------------------------------------

// cookieMAC reimplements the session cookie's check apart from securecookie:
// the value is base64url of "date|base64url(id)|mac", the MAC an
// HMAC-SHA256 of "name|date|base64url(id)" under the cookie key derived
// from a master secret. It returns the id when the value verifies under
// one of the secrets.
func cookieMAC(value string, secrets ...Secret) ([]byte, bool) {
	raw, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return nil, false
	}
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		return nil, false
	}
	for _, s := range secrets {
		key, err := hkdf.Key(sha256.New, s, nil, labelCookie, 64)
		if err != nil {
			panic(err)
		}
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s|%s|%s", cookieName, parts[0], parts[1])
		if hmac.Equal(mac.Sum(nil), parts[2]) {
			id, err := base64.URLEncoding.DecodeString(string(parts[1]))
			return id, err == nil
		}
	}
	return nil, false
}

func FuzzSessionCookie(f *testing.F) {
	m := fuzzMiddleware(f, http.NotFoundHandler(), func(o *Options) {
		o.PreviousSecretKeys = []Secret{fuzzOld}
	})
	old := fuzzMiddleware(f, http.NotFoundHandler(), func(o *Options) { o.SecretKey = fuzzOld })
	stranger := fuzzMiddleware(f, http.NotFoundHandler(), func(o *Options) {
		o.SecretKey = Secret("someone-else-entirely-0123456789abcdef")
	})

	// issued are the values this process encoded, with their ids. Session
	// cookies are dated by the middleware's clock, others by securecookie.
	issued := map[string][]byte{}
	encode := func(mw *Middleware, name string, id []byte) string {
		v := mw.keys.current().session.encode(id, fuzzNow)
		if name != cookieName {
			var err error
			v, err = mw.keys.current().cookie.Encode(name, id)
			require.NoError(f, err)
		}
		if mw != stranger && name == cookieName && len(id) == 32 {
			issued[v] = id
		}
		return v
	}
	id, _ := newSessionID()
	good := encode(m, cookieName, id)
	older := encode(old, cookieName, id)
	states := encode(m, loginCookieName, []byte("state-a.state-b"))

	f.Add(cookieName + "=" + good)
	f.Add(cookieName + "=" + older)
	f.Add("theme=dark; " + cookieName + "=" + good + "; lang=en")
	f.Add(cookieName + "=" + good + "\n" + cookieName + "=x")
	f.Add(cookieName + "=x\n" + cookieName + "=" + good)
	f.Add(cookieName + `="` + good + `"`)
	f.Add(cookieName + "=" + good + "=")
	f.Add(cookieName + "=" + good[:len(good)-2])
	f.Add(" " + cookieName + " = " + good)
	f.Add(cookieName + "=" + states)
	f.Add(cookieName + "=" + encode(stranger, cookieName, id))
	f.Add(cookieName + "=" + encode(m, cookieName, id[:16]))
	f.Add(cookieName + "=" + encode(m, cookieName, append(id, 0)))
	f.Add(cookieName + "=" + encode(m, "__Host-other", id))
	f.Add(cookieName + ";" + cookieName + "=;=;;")
	f.Add("")

	f.Fuzz(func(t *testing.T, header string) {
		r := &http.Request{Header: http.Header{"Cookie": strings.Split(header, "\n")}}

		value, found := cookieValue(r, cookieName)
		if found {
			assert.NotContains(t, value, ";")
			assert.Contains(t, header, cookieName+"="+value)
		}

		got := m.sessionKey(r, fuzzNow)
		again := m.sessionKey(r, fuzzNow) // now from the verified-cookie cache
		assert.Equal(t, got, again, "the cache answers like the check")
		for _, k := range m.keys {
			var theirs []byte
			want := k.cookie.Decode(cookieName, value, &theirs) == nil && len(theirs) == 32
			id, _, ok := k.session.verify(value, time.Now()) // securecookie's clock
			require.Equal(t, want, ok, "securecookie and the codec disagree on %q", value)
			if ok {
				assert.Equal(t, theirs, id[:])
			}
		}
		if got == "" {
			return
		}
		require.True(t, found)
		want, ok := cookieMAC(value, fuzzMaster, fuzzOld)
		require.True(t, ok, "a session for a value no Encode of ours produced: %q", value)
		assert.Len(t, want, 32, "a session id is 32 bytes")
		assert.Equal(t, storeKey(want), got)
		if id, ok := issued[value]; ok {
			assert.Equal(t, storeKey(id), got)
		}
	})
}

// ---- id_token ------------------------------------------------------------

// fuzzProvider is the provider the id_token checks verify against: issuer
// fuzzIssuer, its keys in the in-memory JWKS.
func fuzzProvider(t testing.TB, m *Middleware) *provider {
	p, err := m.providers.get(context.Background(), "")
	require.NoError(t, err)
	return p
}

// idClaimsSeed is a valid id_token's claims at fuzzNow, with extra changes.
func idClaimsSeed(edit func(map[string]any)) []byte {
	c := map[string]any{
		"iss": fuzzIssuer, "aud": fuzzClientID, "sub": fuzzSubject, "azp": fuzzClientID,
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix(), "auth_time": fuzzNow.Unix(),
		"nonce": fuzzNonce, "acr": "a3", "amr": []string{"pin"}, "sid": "provider-session",
		"at_hash": atHash(fuzzAccess),
	}
	if edit != nil {
		edit(c)
	}
	b, _ := json.Marshal(c)
	return b
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64(sum[:16])
}

func jsonOf(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

var (
	idHeader     = jsonOf(map[string]string{"alg": "RS256", "kid": fuzzKid, "typ": "JWT"})
	logoutHeader = jsonOf(map[string]string{"alg": "RS256", "kid": fuzzKid, "typ": "logout+jwt"})
)

// previousLogin is the session a refresh's id_token must continue.
var previousLogin = &sessionData{
	Issuer:  fuzzIssuer,
	Subject: fuzzSubject,
	IDToken: token("e30." + base64.RawURLEncoding.EncodeToString(idClaimsSeed(nil)) + ".c2ln"),
	Nonce:   fuzzNonce,
}

func FuzzVerifyIDToken(f *testing.F) {
	m := fuzzMiddleware(f, &providerHandler{}, func(o *Options) {
		o.Issuer = fuzzIssuer
		o.ACR = "a3"
	})
	p := fuzzProvider(f, m)

	add := func(header, payload []byte, how uint8, refresh bool) {
		f.Add(header, payload, []byte("sig"), how, refresh)
	}
	add(idHeader, idClaimsSeed(nil), 0, false)
	add(idHeader, idClaimsSeed(nil), 0, true)
	add(idHeader, idClaimsSeed(func(c map[string]any) { delete(c, "nonce") }), 0, true)
	add(idHeader, idClaimsSeed(nil), 1, false)
	add(idHeader, idClaimsSeed(nil), 2, false)
	add(jsonOf(map[string]string{"alg": "none"}), idClaimsSeed(nil), 2, false)
	add(jsonOf(map[string]string{"alg": "HS256", "kid": fuzzKid}), idClaimsSeed(nil), 2, false)
	add(jsonOf(map[string]string{"alg": "RS256"}), idClaimsSeed(nil), 0, false)
	add(jsonOf(map[string]any{"alg": "RS256", "kid": fuzzKid, "crit": []string{"exp"}, "exp": 1}),
		idClaimsSeed(nil), 0, false)
	add(logoutHeader, idClaimsSeed(nil), 0, false)
	for _, edit := range []func(map[string]any){
		func(c map[string]any) { c["iss"] = "https://evil.example" },
		func(c map[string]any) { c["aud"] = []string{fuzzClientID, "other"} },
		func(c map[string]any) { c["aud"] = []string{fuzzClientID, "other"}; delete(c, "azp") },
		func(c map[string]any) { c["azp"] = "other" },
		func(c map[string]any) { c["sub"] = "" },
		func(c map[string]any) { c["sub"] = "310999-someone-else" },
		func(c map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() },
		func(c map[string]any) { c["exp"] = fuzzNow.Add(-fuzzLeeway).Unix() },
		func(c map[string]any) { c["iat"] = fuzzNow.Add(time.Hour).Unix() },
		func(c map[string]any) { c["iat"] = strconv.FormatInt(fuzzNow.Unix(), 10) },
		func(c map[string]any) { c["exp"] = 1e300 },
		func(c map[string]any) { delete(c, "exp") },
		func(c map[string]any) { c["auth_time"] = fuzzNow.Add(time.Hour).Unix() },
		func(c map[string]any) { c["auth_time"] = fuzzNow.Add(-time.Hour).Unix() },
		func(c map[string]any) { c["nonce"] = "other" },
		func(c map[string]any) { c["nonce"] = nil },
		func(c map[string]any) { c["acr"] = "a1" },
		func(c map[string]any) { c["acr"] = "a2" },
		func(c map[string]any) { delete(c, "acr") },
		func(c map[string]any) { c["at_hash"] = atHash("another token") },
		func(c map[string]any) { delete(c, "at_hash") },
		func(c map[string]any) { c["events"] = map[string]any{backchannelEvent: map[string]any{}} },
		func(c map[string]any) { c["events"] = nil },
	} {
		add(idHeader, idClaimsSeed(edit), 0, false)
		add(idHeader, idClaimsSeed(edit), 0, true)
	}

	f.Fuzz(func(t *testing.T, header, payload, sig []byte, how uint8, refresh bool) {
		raw := signJWT(header, payload, sig, how%3)
		want := expectation{nonce: fuzzNonce, acr: "a3", accessToken: fuzzAccess}
		if refresh {
			want.previous = previousLogin
		}
		v, err := m.verifyIDToken(context.Background(), p, raw, want)
		if err != nil {
			assert.NotEmpty(t, reasonOf(err, ""), "every refusal has a reason code: %v", err)
			return
		}
		require.NotNil(t, v)
		assert.Equal(t, raw, v.raw)
		h, c := signedByProvider(t, raw)
		typ, _ := h["typ"].(string)
		assert.False(t, isLogoutType(typ),
			"a token typed %q as a logout token passed as an id_token", typ)
		checkIDClaims(t, c, want)
	})
}

// checkIDClaims is the id_token checklist, written apart from idtoken.go.
func checkIDClaims(t *testing.T, c map[string]any, want expectation) {
	t.Helper()
	assert.Equal(t, fuzzIssuer, c["iss"], "iss")
	aud, ok := audienceOf(c["aud"])
	require.True(t, ok, "aud is a string or an array of strings")
	assert.Contains(t, aud, fuzzClientID, "aud")
	azp, hasAZP := c["azp"]
	if len(aud) > 1 {
		assert.Equal(t, fuzzClientID, azp, "azp is required with several audiences")
	}
	if hasAZP && azp != "" {
		assert.Equal(t, fuzzClientID, azp, "azp")
	}
	sub, _ := c["sub"].(string)
	assert.NotEmpty(t, sub, "sub")

	exp, ok := numericDate(c["exp"])
	assert.True(t, ok && exp.After(fuzzNow.Add(-fuzzLeeway)), "exp %v", c["exp"])
	iat, ok := numericDate(c["iat"])
	assert.True(t, ok && !iat.After(fuzzNow.Add(fuzzLeeway)), "iat %v", c["iat"])
	if at, present := c["auth_time"]; present {
		authTime, ok := numericDate(at)
		assert.True(t, ok && !authTime.After(fuzzNow.Add(fuzzLeeway)), "auth_time %v", at)
	}

	nonce := c["nonce"] // null is no nonce
	if want.previous == nil || nonce != nil {
		assert.Equal(t, want.nonce, nonce, "nonce")
	}
	if want.acr != "" {
		assert.Equal(t, "a3", c["acr"], "acr at least a3")
	}
	if h, present := c["at_hash"]; present && h != "" {
		assert.Equal(t, atHash(want.accessToken), h, "at_hash")
	}
	_, hasEvents := c["events"]
	assert.False(t, hasEvents, "an id_token carries no events")

	if prev := want.previous; prev != nil {
		assert.Equal(t, prev.Issuer, c["iss"])
		assert.Equal(t, prev.Subject, sub)
		var before map[string]any
		prevClaims, err := prev.claims()
		require.NoError(t, err)
		require.NoError(t, decodeNumbers(prevClaims, &before))
		beforeAud, _ := audienceOf(before["aud"])
		assert.Equal(t, beforeAud, aud, "a refresh keeps aud")
		if at, present := c["auth_time"]; present && at != nil {
			assert.Equal(t, fmt.Sprint(before["auth_time"]), fmt.Sprint(at),
				"a refresh keeps auth_time")
		}
	}
}

// ---- Callback --------------------------------------------------------------

func FuzzCallbackParams(f *testing.F) {
	f.Add("code=abc&state=xyz")
	f.Add("code=abc&code=def&state=xyz")
	f.Add("state=%zz")
	f.Add("a=1;b=2")
	f.Add("error=access_denied&error_description=" + strings.Repeat("x", maxParamLen+1))
	f.Add(strings.Repeat("a=1&", maxCallbackQuery/4+1))
	f.Add("mccmnc=310999&state=s&login_hint_token=t")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := callbackParams(&url.URL{RawQuery: raw})
		if err != nil {
			assert.Nil(t, q)
			return
		}
		assert.LessOrEqual(t, len(raw), maxCallbackQuery)
		parsed, perr := url.ParseQuery(raw)
		require.NoError(t, perr)
		assert.Equal(t, parsed, q)
		for name, values := range q {
			assert.Len(t, values, 1, "parameter %q repeated", name)
			assert.LessOrEqual(t, len(values[0]), maxParamLen)
		}
	})
}

// The placeholder a fuzzed callback query uses for the state of the login
// the browser really started.
const statePlaceholder = "STATE"

func FuzzCallback(f *testing.F) {
	idp := zenkeytest.NewServer(zenkeytest.Config{ClientID: fuzzClientID, ClientSecret: fuzzSecret})
	f.Cleanup(idp.Close)
	m := fuzzMiddleware(f, nil, func(o *Options) {
		o.DiscoveryUIURL = idp.DiscoveryUIURL
		o.DiscoveryURL = idp.DiscoveryURL
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := fmt.Sprintf("app reached with %s %s", r.Method, r.URL)
		http.Error(w, t, http.StatusTeapot)
	}))

	for _, q := range []string{
		"state=STATE&mccmnc=310999",
		"state=STATE&mccmnc=310999&login_hint_token=hint",
		"state=STATE&mccmnc=999999",
		"state=STATE&code=guessed-code",
		"state=STATE&code=guessed-code&mccmnc=310999",
		"state=STATE&error=access_denied&error_description=no",
		"state=STATE&error=user_not_found",
		"state=STATE&error=",
		"state=STATE",
		"state=STATE&state=STATE&code=x",
		"state=other&code=x",
		"code=x",
		"",
		"state=STATE&code=x&" + strings.Repeat("p=", 5000),
	} {
		f.Add(http.MethodGet, q)
	}
	f.Add(http.MethodPost, "state=STATE&code=x")
	f.Add(http.MethodHead, "state=STATE&mccmnc=310999")

	f.Fuzz(func(t *testing.T, method, query string) {
		if !validMethod(method) {
			return
		}
		// The browser starts a login: its cookie now lists a state.
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil))
		require.Equal(t, http.StatusFound, w.Code)
		loc, err := url.Parse(w.Header().Get("Location"))
		require.NoError(t, err)
		state := loc.Query().Get("state")
		require.NotEmpty(t, state)

		query = strings.ReplaceAll(query, statePlaceholder, state)
		r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback", nil)
		r.Method = method
		r.URL.RawQuery = query
		r.Header.Set("Accept", "text/html")
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)

		for _, c := range w.Result().Cookies() {
			assert.False(t, c.Name == cookieName && c.Value != "",
				"a session from a fuzzed callback")
		}
		switch {
		case method != http.MethodGet:
			assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
		case w.Code == http.StatusFound:
			// Only the real state goes on: to the provider after discovery,
			// or to discovery again after user_not_found.
			q, err := url.ParseQuery(query)
			require.NoError(t, err)
			assert.Equal(t, state, q.Get("state"))
			next := w.Header().Get("Location")
			assert.True(t, strings.HasPrefix(next, idp.Issuer+"/authorize?") ||
				strings.HasPrefix(next, idp.DiscoveryUIURL+"?"), next)
		default:
			assert.Equal(t, http.StatusBadRequest, w.Code, "garbage is the client's error: %s",
				w.Body)
		}
	})
}

// validMethod reports whether method is a token net/http would send.
func validMethod(method string) bool {
	if method == "" {
		return false
	}
	for _, c := range []byte(method) {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c)) {
			return false
		}
	}
	return true
}

// TestCallbackGarbageMCCMNCIsBadRequest: a callback with the browser's
// real state but a carrier code that is not six digits is the browser's
// mistake: it is answered 400 without asking ZenKey's discovery issuer,
// rather than 502 "ZenKey cannot be reached" with a provider failure logged.
func TestCallbackGarbageMCCMNCIsBadRequest(t *testing.T) {
	for _, mccmnc := range []string{"abc", "31099", "3109990", "310999\n"} {
		t.Run(fmt.Sprintf("%q", mccmnc), func(t *testing.T) {
			idp := zenkeytest.NewServer(zenkeytest.Config{ClientID: fuzzClientID,
				ClientSecret: fuzzSecret})
			t.Cleanup(idp.Close)
			m := fuzzMiddleware(t, nil, func(o *Options) {
				o.DiscoveryUIURL = idp.DiscoveryUIURL
				o.DiscoveryURL = idp.DiscoveryURL
				o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
			})
			h := m.AuthRoutes()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://app.example/auth/login", nil))
			loc, _ := url.Parse(w.Header().Get("Location"))

			q := url.Values{"state": {loc.Query().Get("state")}, "mccmnc": {mccmnc}}
			r := httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback?"+q.Encode(), nil)
			for _, c := range w.Result().Cookies() {
				r.AddCookie(c)
			}
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)

			assert.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			assert.Zero(t, idp.Calls(zenkeytest.Discovery),
				"no discovery for a code that cannot be one")
		})
	}
}

// ---- Discovery documents ---------------------------------------------------

// documentServer serves whatever document a fuzz target sets, at any path.
type documentServer struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	status int
}

func newDocumentServer(t testing.TB) *documentServer {
	d := &documentServer{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(d.status)
		w.Write(d.body)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *documentServer) serve(status int, body []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status, d.body = status, body
}

// The placeholder for the test server's URL in fuzzed documents.
const issuerPlaceholder = "ISSUER"

func FuzzDiscoveryDocument(f *testing.F) {
	docs := newDocumentServer(f)
	carrier := fuzzMiddleware(f, nil, func(o *Options) {
		o.DiscoveryURL = docs.URL + "/.well-known/openid_configuration"
		o.HTTPClient = docs.Client()
	})
	standard := fuzzMiddleware(f, nil, func(o *Options) {
		o.Issuer = docs.URL
		o.HTTPClient = docs.Client()
	})

	doc := func(edit func(map[string]any)) []byte {
		d := map[string]any{
			"issuer":                 "ISSUER",
			"authorization_endpoint": "ISSUER/authorize",
			"token_endpoint":         "ISSUER/token",
			"userinfo_endpoint":      "ISSUER/userinfo",
			"jwks_uri":               "ISSUER/jwks",
			"revocation_endpoint":    "ISSUER/revoke",
			"mccmnc":                 310999,
		}
		if edit != nil {
			edit(d)
		}
		return jsonOf(d)
	}
	for _, standardMode := range []bool{false, true} {
		add := func(status uint16, body []byte) { f.Add(status, body, standardMode) }
		add(200, doc(nil))
		add(200, doc(func(d map[string]any) { d["mccmnc"] = "310999" }))
		add(200, doc(func(d map[string]any) { d["mccmnc"] = "311480" }))
		add(200, doc(func(d map[string]any) { d["mccmnc"] = 310999.0 }))
		add(200, doc(func(d map[string]any) { d["mccmnc"] = true }))
		add(200, doc(func(d map[string]any) { delete(d, "mccmnc") }))
		add(200, doc(func(d map[string]any) { d["issuer"] = "https://carrier.example" }))
		add(200, doc(func(d map[string]any) { d["token_endpoint"] = "http://evil.example/token" }))
		add(200, doc(func(d map[string]any) { d["jwks_uri"] = "" }))
		add(200, doc(func(d map[string]any) { d["userinfo_endpoint"] = "javascript:alert(1)" }))
		add(200, doc(func(d map[string]any) { d["revocation_endpoint"] = "http://localhost.evil.example/r" }))
		add(200, doc(func(d map[string]any) { d["end_session_endpoint"] = "https:///nohost" }))
		add(200, doc(func(d map[string]any) { d["authorization_endpoint"] = "http://[::1]:8080/authorize" }))
		add(200, doc(func(d map[string]any) { d["error"] = "server_error" }))
		add(404, []byte(`{"error":"provider_not_found"}`))
		add(500, doc(nil))
		add(200, []byte(`[]`))
		add(200, []byte(`null`))
		add(200, []byte(`{"issuer":"ISSUER","Issuer":"https://evil.example"}`))
		add(200, []byte(`{`))
	}

	f.Fuzz(func(t *testing.T, status uint16, body []byte, standardMode bool) {
		if status < 200 || status > 599 {
			return // 1xx answers are interim: the client sees the 200 after them
		}
		body = bytes.ReplaceAll(body, []byte(issuerPlaceholder), []byte(docs.URL))
		docs.serve(int(status), body)
		m := carrier
		if standardMode {
			m = standard
		}

		p, err := m.discover(context.Background(), "310999")

		var ref struct {
			Error any `json:"error"`
		}
		jsonErr := json.Unmarshal(body, &ref)
		if jsonErr == nil && ref.Error == "provider_not_found" {
			assert.ErrorIs(t, err, ErrProviderNotFound)
		}
		if err != nil {
			return
		}
		require.NotNil(t, p)
		assert.Equal(t, 200, int(status), "accepted with HTTP %d", status)
		require.NoError(t, jsonErr)
		assert.Empty(t, ref.Error, "accepted a document with an error")
		checkDocumentApart(t, body, m, p)
	})
}

// checkDocumentApart checks an accepted discovery document, decoded apart
// from provider.go: the issuer asked for (standard) or the carrier asked
// for (ZenKey), and every endpoint https or on loopback.
func checkDocumentApart(t *testing.T, body []byte, m *Middleware, p *provider) {
	var d struct {
		Issuer     string          `json:"issuer"`
		Authorize  string          `json:"authorization_endpoint"`
		Token      string          `json:"token_endpoint"`
		UserInfo   string          `json:"userinfo_endpoint"`
		JWKS       string          `json:"jwks_uri"`
		Revocation string          `json:"revocation_endpoint"`
		EndSession string          `json:"end_session_endpoint"`
		MCCMNC     json.RawMessage `json:"mccmnc"`
	}
	require.NoError(t, json.Unmarshal(body, &d))
	if m.opts.Issuer != "" {
		assert.Equal(t, m.opts.Issuer, d.Issuer, "issuer")
	} else if len(d.MCCMNC) > 0 && string(d.MCCMNC) != "null" {
		var code string
		if json.Unmarshal(d.MCCMNC, &code) != nil {
			code = string(d.MCCMNC) // a number, as written
		}
		assert.Contains(t, []string{"310999", ""}, code, "mccmnc")
	}
	assert.Equal(t, d.Issuer, p.issuer)
	assert.Equal(t, "310999", p.mccmnc)
	for name, u := range map[string]string{
		"issuer": d.Issuer, "authorization_endpoint": d.Authorize, "token_endpoint": d.Token,
		"jwks_uri": d.JWKS,
	} {
		assert.True(t, secureOrLoopback(u), "%s %q", name, u)
	}
	for name, u := range map[string]string{
		"userinfo_endpoint": d.UserInfo, "revocation_endpoint": d.Revocation,
		"end_session_endpoint": d.EndSession,
	} {
		assert.True(t, u == "" || secureOrLoopback(u), "%s %q", name, u)
	}
}

// secureOrLoopback reports whether u is an absolute https URL, or http to
// a loopback address or a localhost name.
func secureOrLoopback(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" || parsed.Opaque != "" {
		return false
	}
	host := strings.ToLower(parsed.Hostname())
	switch parsed.Scheme {
	case "https":
		return host != ""
	case "http":
		ip := net.ParseIP(host)
		return host == "localhost" || strings.HasSuffix(host, ".localhost") || (ip != nil &&
			ip.IsLoopback())
	}
	return false
}

// ---- Token and userinfo answers -------------------------------------------

func FuzzDecodeUserInfo(f *testing.F) {
	f.Add([]byte(`{"sub":"310999-0123456789abcdef","name":{"value":"Ann","given_name":"A"}}`),
		fuzzSubject)
	f.Add([]byte(`{"sub":"310999-0123456789abcdef","email":"a@example.com",`+
		`"address":{"postal_code":"1"}}`), fuzzSubject)
	f.Add([]byte(`{"sub":"310999-someone-else"}`), fuzzSubject)
	f.Add([]byte(`{"sub":"310999-0123456789abcdef","sub":"x"}`), fuzzSubject)
	f.Add([]byte(`{"sub":"x","sub":"310999-0123456789abcdef"}`), fuzzSubject)
	f.Add([]byte(`{"SUB":"310999-0123456789abcdef"}`), fuzzSubject)
	f.Add([]byte(`{"sub":"310999-0123456789abcde\u0066"}`), fuzzSubject)
	f.Add([]byte(`{"sub":""}`), "")
	f.Add([]byte(`{"sub":null}`), "")
	f.Add([]byte(`{"sub":1}`), "1")
	f.Add([]byte(`null`), "")
	f.Add([]byte(`[]`), "")
	f.Add([]byte(`{"sub":"\xff"}`), "\ufffd")
	f.Fuzz(func(t *testing.T, raw []byte, subject string) {
		info, err := decodeUserInfo(raw, subject)

		var claims map[string]json.RawMessage
		objErr := json.Unmarshal(raw, &claims)
		var sub string
		subErr := json.Unmarshal(claims["sub"], &sub)
		if objErr == nil && subErr == nil && sub != subject {
			assert.ErrorIs(t, err, ErrUserInfoMismatch, "another subject is refused")
		}
		if err != nil {
			assert.Nil(t, info)
			return
		}
		require.NoError(t, objErr)
		require.NoError(t, subErr, "accepted without a string sub")
		assert.NotEmpty(t, subject)
		assert.Equal(t, subject, sub)
		assert.Equal(t, subject, info.Subject)
	})
}

// The placeholders in a fuzzed token answer: a valid id_token for the
// login (nonce and at_hash for accessPlaceholder's token), and that
// access token.
const (
	idTokenPlaceholder = "IDTOKEN"
	accessPlaceholder  = "ACCESS"
)

func FuzzTokenResponse(f *testing.F) {
	idp := &providerHandler{}
	m := fuzzMiddleware(f, idp, func(o *Options) { o.Issuer = fuzzIssuer })
	p := fuzzProvider(f, m)
	valid := signJWT(idHeader, idClaimsSeed(nil), nil, 0)

	answer := func(edit func(map[string]any)) []byte {
		a := map[string]any{
			"access_token": "ACCESS", "token_type": "Bearer", "expires_in": 1800,
			"refresh_token": "refresh-1", "id_token": "IDTOKEN",
		}
		if edit != nil {
			edit(a)
		}
		return jsonOf(a)
	}
	const jsonType = "application/json"
	f.Add(uint16(200), jsonType, answer(nil))
	f.Add(uint16(200), "application/json; charset=utf-8", answer(nil))
	f.Add(uint16(200), "text/plain", answer(nil))
	f.Add(uint16(200), "application/x-www-form-urlencoded",
		[]byte("access_token=ACCESS&token_type=Bearer&id_token=IDTOKEN"))
	f.Add(uint16(200), "", []byte("access_token=ACCESS&id_token=IDTOKEN"))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { delete(a, "id_token") }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { a["id_token"] = "IDTOKEN\n" }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { a["id_token"] = 5 }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { a["access_token"] = "another" }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { delete(a, "access_token") }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { a["expires_in"] = "soon" }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) { a["expires_in"] = -1 }))
	f.Add(uint16(200), jsonType, answer(func(a map[string]any) {
		a["id_token"] = signJWT(idHeader,
			idClaimsSeed(nil), nil, 1)
	}))
	f.Add(uint16(400), jsonType, []byte(`{"error":"invalid_grant"}`))
	f.Add(uint16(500), jsonType, answer(nil))
	f.Add(uint16(302), jsonType, answer(nil))
	f.Add(uint16(200), jsonType,
		[]byte(`{"access_token":"ACCESS","id_token":"IDTOKEN","id_token":"x"}`))
	f.Add(uint16(200), jsonType, []byte(`{`))

	f.Fuzz(func(t *testing.T, status uint16, contentType string, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		body = bytes.ReplaceAll(body, []byte(idTokenPlaceholder), []byte(valid))
		body = bytes.ReplaceAll(body, []byte(accessPlaceholder), []byte(fuzzAccess))
		idp.mu.Lock()
		idp.tokenStatus, idp.tokenType, idp.tokenBody = int(status), contentType, body
		idp.mu.Unlock()

		fl := &flow{Nonce: fuzzNonce, Verifier: "fuzz-verifier", CorrelationID: "fuzz-1"}
		tok, v, err := m.exchange(context.Background(), p, fl, "code", "")
		if err != nil {
			assert.Nil(t, v)
			assert.NotEmpty(t, reasonOf(err, ""), "every refusal has a reason code: %v", err)
			return
		}
		require.NotNil(t, v)
		assert.True(t, status >= 200 && status < 300, "a session from HTTP %d", status)
		assert.NotEmpty(t, tok.AccessToken)
		_, c := signedByProvider(t, v.raw)
		checkIDClaims(t, c, expectation{nonce: fuzzNonce, accessToken: tok.AccessToken})
		assert.Equal(t, c["sub"], v.token.Subject)
		assert.Equal(t, fuzzIssuer, v.token.Issuer)
	})
}

// ---- Back-channel logout tokens -------------------------------------------

// The placeholder for a fresh jti in fuzzed logout tokens: each run gets its
// own, so a replay is what the input asks for, not an accident.
const jtiPlaceholder = "JTI"

func logoutClaimsSeed(edit func(map[string]any)) []byte {
	c := map[string]any{
		"iss": fuzzIssuer, "aud": fuzzClientID, "iat": fuzzNow.Unix(),
		"exp": fuzzNow.Add(2 * time.Minute).Unix(), "jti": "JTI", "sub": fuzzSubject,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if edit != nil {
		edit(c)
	}
	return jsonOf(c)
}

func FuzzVerifyLogoutToken(f *testing.F) {
	m := fuzzMiddleware(f, &providerHandler{}, func(o *Options) { o.Issuer = fuzzIssuer })

	add := func(header, payload []byte, how uint8) { f.Add(header, payload, []byte("sig"), how) }
	add(logoutHeader, logoutClaimsSeed(nil), 0)
	add(jsonOf(map[string]string{"alg": "RS256", "kid": fuzzKid}), logoutClaimsSeed(nil), 0)
	add(jsonOf(map[string]string{"alg": "RS256", "kid": fuzzKid, "typ": "application/logout+jwt"}),
		logoutClaimsSeed(nil), 0)
	add(idHeader, logoutClaimsSeed(nil), 0)
	add(logoutHeader, logoutClaimsSeed(nil), 1)
	add(logoutHeader, logoutClaimsSeed(nil), 2)
	add(jsonOf(map[string]string{"alg": "none", "typ": "logout+jwt"}), logoutClaimsSeed(nil), 2)
	add(logoutHeader, idClaimsSeed(nil), 0)
	for _, edit := range []func(map[string]any){
		func(c map[string]any) { c["iss"] = "https://evil.example" },
		func(c map[string]any) { c["aud"] = []string{"other", fuzzClientID} },
		func(c map[string]any) { c["aud"] = "other" },
		func(c map[string]any) { delete(c, "jti") },
		func(c map[string]any) { c["jti"] = "" },
		func(c map[string]any) { c["jti"] = "fixed-jti" },
		func(c map[string]any) { delete(c, "sub"); c["sid"] = "provider-session" },
		func(c map[string]any) { delete(c, "sub") },
		func(c map[string]any) { c["nonce"] = "n" },
		func(c map[string]any) { c["nonce"] = nil },
		func(c map[string]any) { c["iat"] = fuzzNow.Add(-time.Hour).Unix() },
		func(c map[string]any) { c["iat"] = fuzzNow.Add(time.Hour).Unix() },
		func(c map[string]any) { delete(c, "iat") },
		func(c map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() },
		func(c map[string]any) { delete(c, "exp") },
		func(c map[string]any) { c["events"] = map[string]any{backchannelEvent: "yes"} },
		func(c map[string]any) { c["events"] = map[string]any{backchannelEvent: nil} },
		func(c map[string]any) { c["events"] = map[string]any{"http://example.com/other": map[string]any{}} },
		func(c map[string]any) { c["events"] = []string{backchannelEvent} },
	} {
		add(logoutHeader, logoutClaimsSeed(edit), 0)
	}

	f.Fuzz(func(t *testing.T, header, payload, sig []byte, how uint8) {
		payload = bytes.ReplaceAll(payload, []byte(jtiPlaceholder), []byte(randomString(12)))
		raw := signJWT(header, payload, sig, how%3)

		c, err := m.verifyLogoutToken(context.Background(), raw)
		if err != nil {
			assert.Nil(t, c)
			return
		}
		require.NotNil(t, c)
		h, claims := signedByProvider(t, raw)
		typ, _ := h["typ"].(string)
		assert.Contains(t, []string{"", "logout+jwt", "application/logout+jwt"}, typ, "typ")
		checkLogoutClaims(t, claims)

		// Until its sessions are gone the jti is pending, and the
		// provider's retry goes through; once done, it is a replay.
		_, err = m.verifyLogoutToken(context.Background(), raw)
		assert.NoError(t, err, "a retry of a logout not yet done")
		require.NoError(t, m.finishJTI(context.Background(), c.Issuer, c.JTI))
		_, err = m.verifyLogoutToken(context.Background(), raw)
		assert.ErrorIs(t, err, errReplayedJTI, "a replayed logout token is refused")
	})
}

// checkLogoutClaims is the logout token checklist, written apart from
// backchannel.go.
func checkLogoutClaims(t *testing.T, c map[string]any) {
	t.Helper()
	assert.Equal(t, fuzzIssuer, c["iss"], "iss")
	aud, ok := audienceOf(c["aud"])
	assert.True(t, ok && slices.Contains(aud, fuzzClientID), "aud %v", c["aud"])
	iat, ok := numericDate(c["iat"])
	assert.True(t, ok && !iat.After(fuzzNow.Add(fuzzLeeway)) &&
		!iat.Before(fuzzNow.Add(-logoutTokenMaxAge)),
		"iat %v", c["iat"])
	if e, present := c["exp"]; present {
		exp, ok := numericDate(e)
		assert.True(t, ok && exp.After(fuzzNow.Add(-fuzzLeeway)), "exp %v", e)
	}
	jti, _ := c["jti"].(string)
	assert.NotEmpty(t, jti, "jti")
	assert.Nil(t, c["nonce"], "a logout token carries no nonce")
	sub, _ := c["sub"].(string)
	sid, _ := c["sid"].(string)
	assert.True(t, sub != "" || sid != "", "sub or sid")
	events, ok := c["events"].(map[string]any)
	require.True(t, ok, "events is an object")
	assert.Len(t, events, 1, "the back-channel event alone")
	_, isObject := events[backchannelEvent].(map[string]any)
	assert.True(t, isObject, "the back-channel event's value is an object")
}

// TestIDTokenTypedAsLogoutTokenIsRefused: verifyIDToken refuses every typ
// verifyLogoutToken takes as a logout token's: "logout+jwt" with or
// without the "application/" prefix, in any case, as media types are
// compared (RFC 7515, section 4.1.9).
func TestIDTokenTypedAsLogoutTokenIsRefused(t *testing.T) {
	m := fuzzMiddleware(t, &providerHandler{}, func(o *Options) {
		o.Issuer = fuzzIssuer
		o.ACR = "a3"
	})
	p := fuzzProvider(t, m)
	for _, typ := range []string{"logout+jwt", "application/logout+jwt", "Logout+JWT"} {
		t.Run(typ, func(t *testing.T) {
			header := jsonOf(map[string]string{"alg": "RS256", "kid": fuzzKid, "typ": typ})
			raw := signJWT(header, idClaimsSeed(nil), nil, 0)
			_, err := m.verifyIDToken(t.Context(), p, raw, expectation{
				nonce: fuzzNonce, acr: "a3", accessToken: fuzzAccess,
			})
			assert.Error(t, err)
		})
	}
}
