package zenkey

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// revokeTimeout bounds the revocation of one session's tokens. Revocation
// runs after the logout answered, so a slow provider never delays it.
const revokeTimeout = 5 * time.Second

// revokeLater revokes a destroyed session's tokens (RFC 7009) at the
// provider, when it publishes a revocation endpoint, in the background.
// Failures are logged: the session is already gone either way.
func (m *Middleware) revokeLater(d *sessionData) {
	m.revocations.Add(1)
	go func() {
		defer m.revocations.Done()
		ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
		defer cancel()
		m.revoke(ctx, d)
	}()
}

func (m *Middleware) revoke(ctx context.Context, d *sessionData) {
	p, err := m.providers.get(ctx, d.MCCMNC)
	if err != nil || p.revocationURL == "" {
		return
	}
	for hint, tok := range map[string]token{
		"refresh_token": d.RefreshToken,
		"access_token":  d.AccessToken,
	} {
		if tok == "" {
			continue
		}
		if err := m.revokeToken(ctx, p, string(tok), hint); err != nil {
			m.emit(ctx, slog.LevelWarn, "zenkey: token revocation failed",
				Event{Kind: EventProviderError, Reason: reasonRevoke, Issuer: p.issuer, Err: err})
		}
	}
}

// revokeToken makes one RFC 7009 request, authenticated like the token
// endpoint (client_secret_basic or private_key_jwt).
func (m *Middleware) revokeToken(ctx context.Context, p *provider, tok, hint string) error {
	form := url.Values{"token": {tok}, "token_type_hint": {hint}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.revocationURL,
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if m.opts.ClientKeyFile == "" {
		req.SetBasicAuth(url.QueryEscape(m.opts.ClientID), url.QueryEscape(m.opts.ClientSecret))
	}
	resp, err := m.tokenClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("zenkey: revocation: HTTP %d", resp.StatusCode)
	}
	return nil
}

// WaitRevocations blocks until the revocations started by earlier logouts
// have finished, at most revokeTimeout each. Call it before the process
// exits; tests use it to observe the provider.
func (m *Middleware) WaitRevocations() { m.revocations.Wait() }
