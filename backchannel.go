package zenkey

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"
)

const (
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenMaxAge is how old a logout token's iat may be; its jti is
	// remembered for twice as long, so a replay is always caught.
	logoutTokenMaxAge = 5 * time.Minute
	maxLogoutBody     = 32 << 10
)

// logoutClaims are the claims of an OpenID back-channel logout token.
type logoutClaims struct {
	Issuer   string                     `json:"iss"`
	Audience audience                   `json:"aud"`
	IAT      *json.Number               `json:"iat"`
	EXP      *json.Number               `json:"exp"`
	JTI      string                     `json:"jti"`
	Subject  string                     `json:"sub"`
	SID      string                     `json:"sid"`
	Events   map[string]json.RawMessage `json:"events"`
	Nonce    *json.RawMessage           `json:"nonce"`
}

// serveBackchannelLogout destroys the sessions a provider's logout token
// names (OpenID Back-Channel Logout 1.0): 200 when they are gone, 400 for
// any invalid token, 503 when the store could not confirm. Every answer
// carries Cache-Control: no-store.
func (m *Middleware) serveBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "zenkey: back-channel logout takes POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	c, err := m.verifyLogoutToken(r.Context(), r.PostFormValue("logout_token"))
	if reason := reasonOf(err, reasonStore); err != nil && isOutage(reason) {
		// The store or the provider failed, not the token: the provider
		// retries on 5xx, and its retry must not look like a replay.
		m.logRefusal(r.Context(), http.StatusServiceUnavailable, reason, err)
		http.Error(w, "zenkey: logout not confirmed", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		m.logRefusal(r.Context(), http.StatusBadRequest, reasonOf(err, reasonLogoutToken), err)
		http.Error(w, "zenkey: invalid logout token", http.StatusBadRequest)
		return
	}
	n, err := m.logoutClaimed(r.Context(), c)
	if err == nil {
		err = m.finishJTI(r.Context(), c.Issuer, c.JTI)
	}
	if err != nil {
		m.logRefusal(r.Context(), http.StatusServiceUnavailable, reasonStore, err)
		http.Error(w, "zenkey: logout not confirmed", http.StatusServiceUnavailable)
		return
	}
	m.emit(r.Context(), slog.LevelInfo, "zenkey: back-channel logout",
		Event{Kind: EventLogout, Reason: "backchannel", Sessions: n, Issuer: c.Issuer})
	w.WriteHeader(http.StatusOK)
}

// verifyLogoutToken runs the logout token checklist, in order.
func (m *Middleware) verifyLogoutToken(ctx context.Context, raw string) (*logoutClaims, error) {
	// Check syntax, then typ: a logout token is never an id_token.
	header, err := checkJWTSyntax(raw)
	if err != nil {
		return nil, &rejection{reason: reasonMalformedToken, err: err}
	}
	if header.Typ != "" && !isLogoutTyp(header.Typ) {
		return nil, reject(reasonLogoutToken, "zenkey: logout token typ %q", header.Typ)
	}

	// Check the signature with the provider's published RS256 keys. Keys
	// that cannot be fetched are the provider's outage, not a bad token.
	p, err := m.providers.get(ctx, "")
	if err != nil {
		return nil, reject(reasonProviderDown, "zenkey: logout token: %w", err)
	}
	if err := p.keys.prepare(ctx, header.Kid); err != nil {
		return nil, err
	}
	payload, err := p.keys.VerifySignature(ctx, raw)
	if err != nil {
		return nil, reject(reasonLogoutToken, "zenkey: logout token signature: %w", err)
	}
	var c logoutClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, reject(reasonLogoutToken, "zenkey: logout token claims: %w", err)
	}

	// Check the claims.
	if err := m.checkLogoutClaims(&c, p.issuer); err != nil {
		return nil, err
	}

	// Check jti was never seen, on any instance: remembered in the store.
	if err := m.rememberJTI(ctx, c.Issuer, c.JTI); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkLogoutClaims checks iss, aud, iat freshness, exp, jti, the events
// claim (the back-channel event and nothing else), no nonce, and sub or sid.
func (m *Middleware) checkLogoutClaims(c *logoutClaims, issuer string) error {
	now, leeway := m.now(), m.opts.ClockLeeway
	switch {
	case c.Issuer != issuer:
		return reject(reasonLogoutToken, "zenkey: logout token issuer %q", c.Issuer)
	case !slices.Contains(c.Audience, m.opts.ClientID):
		return reject(reasonLogoutToken, "zenkey: logout token is for another audience")
	case c.JTI == "":
		return reject(reasonLogoutToken, "zenkey: logout token has no jti")
	case c.Nonce != nil:
		return reject(reasonLogoutToken, "zenkey: logout token carries a nonce")
	case c.Subject == "" && c.SID == "":
		return reject(reasonLogoutToken, "zenkey: logout token names neither sub nor sid")
	case len(c.Events) != 1 || !isJSONObject(c.Events[backchannelEvent]):
		return reject(reasonLogoutToken,
			"zenkey: logout token events must be the back-channel event alone")
	}
	iat, ok := unixTime(c.IAT)
	if !ok || iat.After(now.Add(leeway)) || iat.Before(now.Add(-logoutTokenMaxAge)) {
		return reject(reasonLogoutToken, "zenkey: logout token iat missing, stale or in the future")
	}
	if exp, ok := unixTime(c.EXP); c.EXP != nil && (!ok || !now.Add(-leeway).Before(exp)) {
		return reject(reasonLogoutToken, "zenkey: logout token expired")
	}
	return nil
}

// isOutage reports whether a refusal's reason is a failure on our side or
// the provider's, which a retry may get past, rather than a bad token.
func isOutage(reason string) bool {
	return reason == reasonStore || reason == reasonProviderDown
}

func isJSONObject(raw json.RawMessage) bool {
	var v map[string]json.RawMessage
	return len(raw) > 0 && json.Unmarshal(raw, &v) == nil && v != nil
}

func unixTime(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

var errReplayedJTI = errors.New("zenkey: logout token jti was already used")

// rememberJTI records a logout token's jti in the store, where a second
// Create of the same key fails: a replay on any instance is refused.
func (m *Middleware) rememberJTI(ctx context.Context, issuer, jti string) error {
	now := m.now()
	rec := &Record{
		Key:              jtiKey(issuer, jti),
		Created:          now,
		LastSeen:         now,
		IdleDeadline:     now.Add(2 * logoutTokenMaxAge),
		AbsoluteDeadline: now.Add(2 * logoutTokenMaxAge),
	}
	err := m.store.Create(ctx, rec)
	if !errors.Is(err, ErrConflict) {
		return err
	}
	// Seen before: a replay, unless that logout never finished (version 1),
	// in which case this is the provider's retry.
	seen, err := m.store.Get(ctx, rec.Key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err == nil && seen.Version == 1 {
		return nil
	}
	return &rejection{reason: reasonLogoutToken, err: errReplayedJTI}
}

// finishJTI marks a logout token's jti as done: from now on it is a replay.
func (m *Middleware) finishJTI(ctx context.Context, issuer, jti string) error {
	rec, err := m.store.Get(ctx, jtiKey(issuer, jti))
	if err != nil {
		return err
	}
	if rec.Version != 1 {
		return nil
	}
	if err := m.store.Update(ctx, rec); err != nil && !errors.Is(err, ErrConflict) {
		return err
	}
	return nil
}

// jtiKey is the store key under which a logout token's jti is remembered.
func jtiKey(issuer, jti string) string {
	sum := sha256.Sum256([]byte("zenkey/v1 jti\x00" + issuer + "\x00" + jti))
	return hex.EncodeToString(sum[:])
}

// logoutClaimed destroys the sessions a logout token names: by provider
// session id when it has one, else every session of the subject.
func (m *Middleware) logoutClaimed(ctx context.Context, c *logoutClaims) (int, error) {
	if c.SID == "" {
		return m.logoutSubject(ctx, c.Subject)
	}
	total := 0
	for _, hash := range m.keys.indexHashes(indexSID, sidValue(c.Issuer, c.SID)) {
		n, err := m.store.DeleteSID(ctx, hash)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
