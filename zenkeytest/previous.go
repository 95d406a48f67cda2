package zenkeytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// portTokenLifetime is how long a port token is valid after it is issued.
const portTokenLifetime = 10 * time.Minute

// previousCarrier is a carrier the user moved away from, keeping their
// identity: it signs the port tokens that tie the user's subject there to
// their subject at the configured carrier.
type previousCarrier struct {
	mccmnc  string
	issuer  string
	subject string // the user's sub at this carrier
	key     *signingKey
}

// AddPreviousCarrier makes the user a customer who moved from another carrier:
// it starts serving that old carrier (its own issuer at s.URL + "/carrier/" +
// mccmnc, standard discovery document at {issuer}/.well-known/openid-configuration,
// and JWKS at {issuer}/jwks with its own RSA key), and puts a port token for
// oldSubject, signed by the old carrier, in the "aka" claim of every later
// id_token. It returns the old carrier's issuer.
//
// A port token is a JWT signed with RS256 under the old carrier's kid, with
// typ "JWT" and the claims iss (the old carrier's issuer), sub (oldSubject),
// aud (the client ID), iat, exp ten minutes later and ported_to (the sub of
// the id_token's login). "aka" is an array of them, one per carrier, in the
// order they were added; [Server.EditClaims] runs after it is set, so a test
// can drop or alter it. Refreshed id_tokens carry it too.
//
// ZenKey's discovery issuer returns the old carrier's configuration for its
// mccmnc as well; its authorization and token endpoints answer 400, since the
// user is no longer its customer. Adding the same mccmnc again replaces the
// old subject and keeps the carrier's key. [Server.Heal] removes no carrier.
//
// AddPreviousCarrier panics when mccmnc is not six digits, starts with 0 (it
// is sent as a JSON number, as the configured carrier's is) or is the
// configured carrier's, or when oldSubject is empty.
func (s *Server) AddPreviousCarrier(mccmnc, oldSubject string) (issuer string) {
	if !mccmncPattern.MatchString(mccmnc) || mccmnc == s.cfg.MCCMNC {
		panic("zenkeytest: AddPreviousCarrier: mccmnc must be six digits not starting " +
			"with 0, other than Config.MCCMNC")
	}
	if oldSubject == "" {
		panic("zenkeytest: AddPreviousCarrier: oldSubject is required")
	}
	key := newSigningKey() // slow: made before taking the lock

	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findPrevious(mccmnc); c != nil {
		c.subject = oldSubject
		return c.issuer
	}
	c := &previousCarrier{
		mccmnc:  mccmnc,
		issuer:  s.URL + "/carrier/" + mccmnc,
		subject: oldSubject,
		key:     key,
	}
	s.previous = append(s.previous, c)
	return c.issuer
}

// PortToken signs claims as they are, with the key and kid of the previous
// carrier added for mccmnc by [Server.AddPreviousCarrier] and typ "JWT", for
// tests of the relying party's checks of port tokens. It panics when no
// previous carrier has mccmnc, or when claims cannot be encoded as JSON.
func (s *Server) PortToken(mccmnc string, claims map[string]any) string {
	s.mu.Lock()
	c := s.findPrevious(mccmnc)
	s.mu.Unlock()
	if c == nil {
		panic("zenkeytest: PortToken: no previous carrier has mccmnc " + mccmnc)
	}
	jwt, err := signJWT(claims, "JWT", c.key.id, c.key.key)
	if err != nil {
		panic(err)
	}
	return jwt
}

// findPrevious returns the previous carrier with mccmnc, or nil. The caller
// holds s.mu.
func (s *Server) findPrevious(mccmnc string) *previousCarrier {
	for _, c := range s.previous {
		if c.mccmnc == mccmnc {
			return c
		}
	}
	return nil
}

// lookupPrevious returns a copy of the previous carrier with mccmnc, and
// whether there is one.
func (s *Server) lookupPrevious(mccmnc string) (previousCarrier, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findPrevious(mccmnc); c != nil {
		return *c, true
	}
	return previousCarrier{}, false
}

// portTokens returns the "aka" claim of an id_token for the login of sub: a
// port token from each previous carrier, or nil when there is none.
func (s *Server) portTokens(sub string, now time.Time) ([]string, error) {
	s.mu.Lock()
	carriers := make([]previousCarrier, len(s.previous))
	for i, c := range s.previous {
		carriers[i] = *c
	}
	s.mu.Unlock()

	var tokens []string
	for _, c := range carriers {
		jwt, err := signJWT(map[string]any{
			"iss":       c.issuer,
			"sub":       c.subject,
			"aud":       s.cfg.ClientID,
			"iat":       now.Unix(),
			"exp":       now.Add(portTokenLifetime).Unix(),
			"ported_to": sub,
		}, "JWT", c.key.id, c.key.key)
		if err != nil {
			return nil, fmt.Errorf("zenkeytest: port token of %s: %w", c.mccmnc, err)
		}
		tokens = append(tokens, jwt)
	}
	return tokens, nil
}

// previousConfiguration is a previous carrier's OpenID provider configuration:
// the fields OpenID Connect Discovery requires, and ZenKey's mccmnc.
type previousConfiguration struct {
	Issuer                string      `json:"issuer"`
	AuthorizationEndpoint string      `json:"authorization_endpoint"`
	TokenEndpoint         string      `json:"token_endpoint"`
	JWKSURI               string      `json:"jwks_uri"`
	ResponseTypes         []string    `json:"response_types_supported"`
	SubjectTypes          []string    `json:"subject_types_supported"`
	SigningAlgs           []string    `json:"id_token_signing_alg_values_supported"`
	MCCMNC                json.Number `json:"mccmnc"` // a number, as in the carriers' fixtures
}

// configuration returns the carrier's configuration.
func (c previousCarrier) configuration() previousConfiguration {
	return previousConfiguration{
		Issuer:                c.issuer,
		AuthorizationEndpoint: c.issuer + "/authorize",
		TokenEndpoint:         c.issuer + "/token",
		JWKSURI:               c.issuer + "/jwks",
		ResponseTypes:         []string{"code"},
		SubjectTypes:          []string{"pairwise"},
		SigningAlgs:           []string{"RS256"},
		MCCMNC:                json.Number(c.mccmnc),
	}
}

// handlePreviousConfiguration is a previous carrier's standard OpenID
// discovery.
func (s *Server) handlePreviousConfiguration(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookupPrevious(r.PathValue("mccmnc"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, c.configuration())
}

// handlePreviousJWKS publishes a previous carrier's key.
func (s *Server) handlePreviousJWKS(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookupPrevious(r.PathValue("mccmnc"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, keySet(c.key))
}

// handlePreviousAuthorize is a previous carrier's authorization endpoint,
// which a browser may reach but which logs no one in: the user has left.
func (s *Server) handlePreviousAuthorize(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.lookupPrevious(r.PathValue("mccmnc")); !ok {
		http.NotFound(w, r)
		return
	}
	renderMessage(w, http.StatusBadRequest, "Invalid request",
		"This carrier no longer serves this user (simulated).")
}

// handlePreviousToken is a previous carrier's token endpoint, which issues
// nothing.
func (s *Server) handlePreviousToken(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.lookupPrevious(r.PathValue("mccmnc")); !ok {
		http.NotFound(w, r)
		return
	}
	writeError(w, http.StatusBadRequest, "invalid_request",
		"this carrier no longer serves this user (simulated)")
}
