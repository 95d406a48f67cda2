package zenkey

import (
	"context"
	"net/http"
)

// NewTestSession stores a session for subject, as a login would, and
// returns the cookie that carries it. Tests that need thousands of sessions
// use it instead of thousands of logins.
func (m *Middleware) NewTestSession(ctx context.Context, subject string) (*http.Cookie, string, error) {
	d := &sessionData{
		Issuer:      "https://carrier.test",
		Subject:     subject,
		AccessToken: "test-access-token",
		Expiry:      m.now().Add(defaultExpiresIn),
	}
	id, err := m.createSession(ctx, d)
	if err != nil {
		return nil, "", err
	}
	v, err := m.keys.current().cookie.Encode(cookieName, id)
	if err != nil {
		return nil, "", err
	}
	return &http.Cookie{Name: cookieName, Value: v}, storeKey(id), nil
}
