package zenkey

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// idClaims are the id_token claims the checks read beyond go-oidc's.
type idClaims struct {
	AZP      string          `json:"azp"`
	ACR      string          `json:"acr"`
	AMR      []string        `json:"amr"`
	AuthTime *json.Number    `json:"auth_time"`
	SID      string          `json:"sid"`
	Nonce    *string         `json:"nonce"`
	Events   json.RawMessage `json:"events"`
	IAT      *json.Number    `json:"iat"`
	EXP      *json.Number    `json:"exp"`

	raw json.RawMessage // every claim, for the checks that read others
}

// expectation is what an id_token must show besides the provider's
// signature, issuer and audience.
type expectation struct {
	nonce       string // the login's nonce
	acr         string // the least acr; "" checks none
	accessToken string // for at_hash

	// previous is the session's data when the token comes from a refresh:
	// the new token must then be about the same user and login.
	previous *sessionData
}

// verifiedToken is an id_token that passed every check.
type verifiedToken struct {
	raw    string
	token  *oidc.IDToken
	claims idClaims
}

// verifyIDToken runs the id_token checklist of the package's security rules,
// in order. Each step names what it checks; the first that fails rejects
// the token with its reason code.
func (m *Middleware) verifyIDToken(ctx context.Context, p *provider, raw string,
	want expectation) (*verifiedToken, error) {
	// Check syntax before anything parses the token.
	header, err := checkJWTSyntax(raw)
	if err != nil {
		return nil, &rejection{reason: reasonMalformedToken, err: err}
	}
	if isLogoutTyp(header.Typ) {
		return nil, reject(reasonTokenClaims, "zenkey: id_token is a logout token")
	}

	// Check signature (RS256 with a published key), iss and aud: go-oidc.
	// Keys that cannot be fetched are the provider's outage, told apart.
	if err := p.keys.prepare(ctx, header.Kid); err != nil {
		return nil, err
	}
	tok, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, reject(reasonTokenInvalid, "zenkey: id_token: %w", err)
	}
	c, err := decodeClaims(tok)
	if err != nil {
		return nil, err
	}
	v := &verifiedToken{raw: raw, token: tok, claims: c}
	for _, check := range []func(*verifiedToken, *expectation) error{
		m.checkParty, m.checkTimes, m.checkNonce, checkAccessTokenHash, checkACR, checkNotLogout,
	} {
		if err := check(v, &want); err != nil {
			return nil, err
		}
	}
	if want.previous != nil {
		if err := checkContinuity(v, want.previous); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// decodeClaims copies the token's claims once, as the raw JSON that the
// checks reading other claims use, and decodes from that copy the claims
// the checks read.
func decodeClaims(tok *oidc.IDToken) (idClaims, error) {
	var c idClaims
	if err := tok.Claims(&c.raw); err != nil {
		return c, reject(reasonTokenClaims, "zenkey: id_token claims: %w", err)
	}
	if err := json.Unmarshal(c.raw, &c); err != nil {
		return c, reject(reasonTokenClaims, "zenkey: id_token claims: %w", err)
	}
	return c, nil
}

// isLogoutTyp reports whether a JOSE typ names a logout token, in any case
// and with or without the media type's "application/" prefix (RFC 7515).
func isLogoutTyp(typ string) bool {
	typ = strings.ToLower(typ)
	return strings.TrimPrefix(typ, "application/") == "logout+jwt"
}

// checkParty checks azp (when present, or required with several
// audiences) and that there is a subject.
func (m *Middleware) checkParty(v *verifiedToken, _ *expectation) error {
	aud := v.token.Audience
	if len(aud) > 1 && v.claims.AZP == "" {
		return reject(reasonTokenClaims, "zenkey: id_token has %d audiences and no azp", len(aud))
	}
	if v.claims.AZP != "" && v.claims.AZP != m.opts.ClientID {
		return reject(reasonTokenClaims, "zenkey: id_token azp %q is not this client", v.claims.AZP)
	}
	if v.token.Subject == "" {
		return reject(reasonTokenClaims, "zenkey: id_token has no sub")
	}
	return nil
}

// checkTimes checks exp, iat and auth_time against the clock, each with
// ClockLeeway.
func (m *Middleware) checkTimes(v *verifiedToken, _ *expectation) error {
	now, leeway := m.now(), m.opts.ClockLeeway
	if v.claims.EXP == nil || v.claims.IAT == nil {
		return reject(reasonTokenClaims, "zenkey: id_token lacks exp or iat")
	}
	if !now.Add(-leeway).Before(v.token.Expiry) {
		return reject(reasonTokenClaims, "zenkey: id_token expired at %v", v.token.Expiry)
	}
	if v.token.IssuedAt.After(now.Add(leeway)) {
		return reject(reasonTokenClaims, "zenkey: id_token issued in the future (%v)",
			v.token.IssuedAt)
	}
	if v.claims.AuthTime != nil {
		at, err := v.claims.AuthTime.Float64()
		if err != nil || time.Unix(int64(at), 0).After(now.Add(leeway)) {
			return reject(reasonTokenClaims,
				"zenkey: id_token auth_time is invalid or in the future")
		}
	}
	return nil
}

// checkNonce compares nonce with the login's, in constant time. At login it
// is required; on refresh it may be absent, or must be the login's.
func (m *Middleware) checkNonce(v *verifiedToken, want *expectation) error {
	got := v.claims.Nonce
	if got == nil && want.previous != nil {
		return nil
	}
	if got == nil || want.nonce == "" ||
		subtle.ConstantTimeCompare([]byte(*got), []byte(want.nonce)) != 1 {
		return reject(reasonNonce, "zenkey: id_token nonce does not match the login's")
	}
	return nil
}

// checkAccessTokenHash checks at_hash when the provider sent one.
func checkAccessTokenHash(v *verifiedToken, want *expectation) error {
	if v.token.AccessTokenHash == "" {
		return nil
	}
	if err := v.token.VerifyAccessToken(want.accessToken); err != nil {
		return reject(reasonTokenClaims, "zenkey: id_token at_hash: %w", err)
	}
	return nil
}

// acrRank orders ZenKey's authentication levels.
var acrRank = map[string]int{"a1": 1, "a2": 2, "a3": 3}

// checkACR checks that the login was at least as strong as requested.
// Values outside ZenKey's must match exactly.
func checkACR(v *verifiedToken, want *expectation) error {
	if want.acr == "" {
		return nil
	}
	got := v.claims.ACR
	gotRank, okGot := acrRank[got]
	wantRank, okWant := acrRank[want.acr]
	if got == want.acr || (okGot && okWant && gotRank >= wantRank) {
		return nil
	}
	return reject(reasonTokenClaims, "zenkey: id_token acr %q is weaker than the requested %q", got,
		want.acr)
}

// checkNotLogout refuses a back-channel logout token presented as an
// id_token.
func checkNotLogout(v *verifiedToken, _ *expectation) error {
	if len(v.claims.Events) > 0 {
		return reject(reasonTokenClaims, "zenkey: id_token carries events: a logout token")
	}
	return nil
}

// checkContinuity checks that a refreshed id_token is about the same user
// and login: same iss, sub and aud, and the login's auth_time.
func checkContinuity(v *verifiedToken, prev *sessionData) error {
	if v.token.Issuer != prev.Issuer || v.token.Subject != prev.Subject {
		return reject(reasonTokenClaims,
			"zenkey: refreshed id_token names another issuer or subject")
	}
	var before struct {
		Aud audience `json:"aud"`
	}
	claims, err := prev.claims()
	if err == nil {
		err = json.Unmarshal(claims, &before)
	}
	if err != nil {
		return reject(reasonTokenClaims, "zenkey: session claims: %w", err)
	}
	if !slices.Equal(before.Aud, v.token.Audience) {
		return reject(reasonTokenClaims, "zenkey: refreshed id_token has another audience")
	}
	return checkLoginAuthTime(v, prev)
}

// checkLoginAuthTime checks a refreshed id_token's auth_time against the
// login's, which the session keeps apart (sessionData.AuthTime, 0 when the
// login's id_token had none) and which no refresh writes. The session's
// id_token is no reference: a refresh that omitted auth_time replaced it,
// and the next could then claim any.
//
// Providers often omit auth_time on refresh: that is accepted, as it
// changes nothing the session keeps. An auth_time that is there must be
// the login's, so after a login without one, none is accepted.
func checkLoginAuthTime(v *verifiedToken, prev *sessionData) error {
	if v.claims.AuthTime == nil {
		return nil
	}
	if at, ok := unixTime(v.claims.AuthTime); !ok || prev.AuthTime == 0 ||
		at.Unix() != prev.AuthTime {
		return reject(reasonTokenClaims, "zenkey: refreshed id_token changed the login's auth_time")
	}
	return nil
}

// audience is the aud claim: a string or an array of strings.
type audience []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*a = list
	return nil
}
