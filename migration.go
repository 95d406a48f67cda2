package zenkey

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// Carrier migration: a user who moved to another carrier gets a new
// pairwise subject there. The new carrier's id_token then carries "aka":
// port tokens, each signed by an old carrier, naming the user's subject at
// that carrier. The app can link the accounts with
// [Session.PreviousSubjects].

// maxPortTokens is the most port tokens an id_token may carry: far more
// carrier moves than anyone makes.
const maxPortTokens = 8

// portClaims are the claims of a port token.
type portClaims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience audience     `json:"aud"`
	PortedTo string       `json:"ported_to"`
	EXP      *json.Number `json:"exp"`
	Nonce    *string      `json:"nonce"`
}

// PreviousSubjects returns the user's subjects at carriers they moved from,
// each proven by a port token signed by that carrier at login. Link the
// accounts the app kept under those subjects to this one.
func (s *Session) PreviousSubjects() []string {
	d, err := s.open()
	if err != nil {
		return nil
	}
	return slices.Clone(d.PreviousSubjects)
}

// verifyPortTokens returns the subjects proven by the id_token's port
// tokens. A port token that does not verify is logged and left out: it
// cannot stop a login, and it proves nothing.
func (m *Middleware) verifyPortTokens(ctx context.Context, v *verifiedToken) []string {
	var aka struct {
		AKA []string `json:"aka"`
	}
	if json.Unmarshal(v.claims.raw, &aka) != nil || len(aka.AKA) == 0 || m.opts.Issuer != "" {
		return nil
	}
	// Each port token costs a carrier's discovery and keys. A longer list
	// is refused whole rather than cut, so that which accounts are linked
	// never depends on the order of the list.
	if n := len(aka.AKA); n > maxPortTokens {
		m.refusePortToken(ctx, fmt.Errorf("zenkey: id_token has %d port tokens, more than %d", n,
			maxPortTokens))
		return nil
	}
	var subjects []string
	for _, raw := range aka.AKA {
		sub, err := m.verifyPortToken(ctx, raw, v.token.Subject)
		if err != nil {
			m.refusePortToken(ctx, err)
			continue
		}
		subjects = append(subjects, sub)
	}
	return subjects
}

// refusePortToken logs a port token that proves nothing.
func (m *Middleware) refusePortToken(ctx context.Context, err error) {
	m.emit(ctx, slog.LevelWarn, "zenkey: port token refused",
		Event{Kind: EventRejection, Reason: reasonPortToken, Err: err})
}

// verifyPortToken checks one port token: canonical syntax; its carrier,
// read from the old subject's mccmnc prefix, found through ZenKey discovery
// (so its issuer is a ZenKey carrier's); its signature with that carrier's
// published keys; its claims (see checkPortClaims).
func (m *Middleware) verifyPortToken(ctx context.Context, raw, newSubject string) (string, error) {
	if _, err := checkJWTSyntax(raw); err != nil {
		return "", err
	}
	unverified, err := peekClaims(raw)
	if err != nil {
		return "", err
	}
	mccmnc := unverified.Subject[:min(6, len(unverified.Subject))]
	if !mccmncPattern.MatchString(mccmnc) || strings.HasPrefix(newSubject, mccmnc) {
		return "", errors.New("zenkey: port token subject names no other carrier")
	}
	p, err := m.providers.get(ctx, mccmnc)
	if err != nil {
		return "", err
	}
	payload, err := p.keys.VerifySignature(ctx, raw)
	if err != nil {
		return "", err
	}
	var c portClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("zenkey: port token claims: %w", err)
	}
	return c.Subject, m.checkPortClaims(&c, p.issuer, newSubject)
}

// checkPortClaims checks a port token's claims. The old carrier signs its
// ordinary id_tokens for this client with the same key, so what makes a
// port token is checked too: ported_to names the user's subject at the new
// carrier, and there is no nonce, which every id_token of a login carries.
// exp is required: a port token without one would link the accounts
// forever.
func (m *Middleware) checkPortClaims(c *portClaims, issuer, newSubject string) error {
	exp, hasExp := unixTime(c.EXP)
	switch {
	case c.Issuer != issuer:
		return errors.New("zenkey: port token issuer is not its carrier's")
	case !slices.Contains(c.Audience, m.opts.ClientID):
		return errors.New("zenkey: port token is for another client")
	case c.Subject == "":
		return errors.New("zenkey: port token has no subject")
	case c.PortedTo == "" || c.Nonce != nil:
		return errors.New("zenkey: token in aka is not a port token: no ported_to, or a login's " +
			"nonce")
	case c.PortedTo != newSubject:
		return errors.New("zenkey: port token was ported to another subject")
	case !hasExp:
		return errors.New("zenkey: port token has no valid exp")
	case !m.now().Add(-m.opts.ClockLeeway).Before(exp):
		return errors.New("zenkey: port token expired")
	}
	return nil
}

// peekClaims decodes a token's claims without verifying them, only to
// find which carrier must verify it.
func peekClaims(raw string) (*portClaims, error) {
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if err != nil {
		return nil, fmt.Errorf("zenkey: port token payload: %w", err)
	}
	var c portClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("zenkey: port token claims: %w", err)
	}
	return &c, nil
}
