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

// ForgetVerifiedCookies empties the cache of verified cookie values, so
// that the next request checks its cookie's HMAC again. It deletes the
// values one by one, as a value stays in the cache after its minute and
// is then replaced: emptying the whole map would cost more than that.
func (m *Middleware) ForgetVerifiedCookies() {
	m.verified.m.Range(func(value, _ any) bool {
		m.verified.m.Delete(value)
		return true
	})
	m.verified.n.Store(0)
}
