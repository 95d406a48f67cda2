package zenkey

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
)

// NewTestSession stores a session for subject, as a login would, and
// returns the cookie that carries it and its store key. Tests that need
// thousands of sessions use it instead of thousands of logins. Its tokens
// are random, with the sizes of a carrier's: its record weighs what a real
// session's does.
func (m *Middleware) NewTestSession(ctx context.Context,
	subject string) (*http.Cookie, string, error) {
	d := &sessionData{
		Issuer:       "https://carrier.test",
		Subject:      subject,
		IDToken:      token(testJWT(700)),
		AccessToken:  token(testJWT(600)),
		RefreshToken: token(rand.Text()),
		TokenType:    "Bearer",
		Nonce:        token(rand.Text()),
		Expiry:       m.now().Add(defaultExpiresIn),
	}
	id, err := m.createSession(ctx, d)
	if err != nil {
		return nil, "", err
	}
	v := m.keys.current().session.encode(id, m.now())
	return &http.Cookie{Name: cookieName, Value: v}, storeKey(id), nil
}

// testJWT returns a compact JWS shape with a payload of about n random
// bytes and an RS256-sized signature. It verifies with no key.
func testJWT(n int) string {
	part := func(n int) string {
		b := make([]byte, n)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return strings.Join([]string{`eyJhbGciOiJSUzI1NiJ9`, part(n), part(256)}, ".")
}

// ForgetVerifiedCookie makes the verified-cookie cache forget the session
// cookie r carries, so that the next request with it checks its HMAC
// again, as a browser's first request in a minute does.
func (m *Middleware) ForgetVerifiedCookie(r *http.Request) {
	if value, ok := cookieValue(r, cookieName); ok {
		m.verified.slot(value).Store(nil)
	}
}

// RaceOn reports whether the test binary was built with -race.
var RaceOn = raceOn
