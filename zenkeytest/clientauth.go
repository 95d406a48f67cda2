package zenkeytest

import (
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// assertionType is the client_assertion_type of a private_key_jwt assertion
// (RFC 7523, section 2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

const (
	// maxAssertionLifetime is how far in the future an assertion's exp may be.
	maxAssertionLifetime = 5 * time.Minute

	// assertionLeeway is how far in the future an assertion's iat and nbf may
	// be, for the client's clock.
	assertionLeeway = time.Minute
)

// clientAuth is how the client may authenticate, and what the provider
// remembers of its assertions.
type clientAuth struct {
	key      *rsa.PublicKey  // verifies private_key_jwt assertions; nil: none accepted
	required bool            // client_secret_basic is refused
	spent    map[string]bool // the jti of every accepted assertion
	last     []byte          // the payload of the latest accepted assertion
	lastKID  string          // the kid in its header, "" when it named none
	rejected int             // assertions refused, for any reason
}

// SetClientKey makes the token and revocation endpoints accept private_key_jwt
// client assertions (RFC 7523) signed by key with RS256, besides
// client_secret_basic; with required, they refuse client_secret_basic. A nil
// key turns private_key_jwt off again. The standard discovery document and
// ZenKey's discovery issuer list the methods accepted.
//
// An assertion is the form fields client_assertion_type, which must be
// "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", and
// client_assertion, a JWS in compact serialization whose header may name a
// kid, which is not checked but recorded: see
// [Server.LastClientAssertionKeyID]. Its claims must have iss and sub equal to the
// client ID; an aud that is, or is an array that holds, the token endpoint's
// URL (at the revocation endpoint too, as ZenKey requires); an exp in
// the future but at most 5 minutes away; an iat and an nbf, when present, no
// more than a minute in the future; and a jti no accepted assertion had. A
// client_id in the form must equal the client ID. Any other assertion gets a
// 401 with the error invalid_client, and an error_description that says why.
// Sending an assertion and basic credentials together gets a 400
// invalid_request, as RFC 6749 allows one method per request.
//
// The key is the client's registration, not a misbehaviour: [Server.Heal]
// keeps it.
func (s *Server) SetClientKey(key *rsa.PublicKey, required bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.client.key = key
	s.client.required = key != nil && required
}

// LastClientAssertion returns the claims of the latest client assertion the
// provider accepted, or nil before the first. Numbers are float64, as
// encoding/json decodes them.
func (s *Server) LastClientAssertion() map[string]any {
	s.mu.Lock()
	payload := s.client.last
	s.mu.Unlock()

	var claims map[string]any
	if payload != nil {
		json.Unmarshal(payload, &claims) // an object: its iss was checked
	}
	return claims
}

// LastClientAssertionKeyID returns the kid in the header of the latest
// client assertion the provider accepted, or "" when it named none or
// before the first.
func (s *Server) LastClientAssertionKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client.lastKID
}

// RejectedClientAssertions returns how many client assertions the token and
// revocation endpoints refused, replays included.
func (s *Server) RejectedClientAssertions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client.rejected
}

// authMethods returns the token_endpoint_auth_methods_supported the discovery
// documents announce.
func (s *Server) authMethods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.client.required:
		return []string{"private_key_jwt"}
	case s.client.key != nil:
		return []string{"client_secret_basic", "private_key_jwt"}
	}
	return []string{"client_secret_basic"}
}

// authenticate checks the client authentication of a request to the token or
// revocation endpoint, and writes the error when it fails. audiences are the
// aud values a client assertion may have there.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, audiences ...string) bool {
	_, _, basic := r.BasicAuth()
	assertion := r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type")
	if basic && assertion {
		writeError(w, http.StatusBadRequest, "invalid_request",
			"use one client authentication method: client_secret_basic or private_key_jwt")
		return false
	}
	if assertion {
		return s.authenticateAssertion(w, r.PostForm, audiences)
	}

	s.mu.Lock()
	required, offered := s.client.required, s.client.key != nil
	s.mu.Unlock()
	if required {
		writeError(w, http.StatusUnauthorized, "invalid_client",
			"client authentication must use private_key_jwt")
		return false
	}
	return s.authenticateBasic(w, r, offered)
}

// authenticateBasic checks client_secret_basic. Like a real carrier, it refuses
// a client_id repeated in the body. offered tells whether private_key_jwt is
// accepted too, for the error message.
func (s *Server) authenticateBasic(w http.ResponseWriter, r *http.Request, offered bool) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		methods := "client_secret_basic"
		if offered {
			methods = "client_secret_basic or private_key_jwt"
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="zenkeytest"`)
		writeError(w, http.StatusUnauthorized, "invalid_client",
			"client authentication must use "+methods)
		return false
	}
	if r.PostForm.Has("client_id") {
		writeError(w, http.StatusBadRequest, "invalid_request",
			"client_id must not be repeated in the body with client_secret_basic")
		return false
	}
	id, secret = formUnescape(id), formUnescape(secret)
	if !equal(id, s.cfg.ClientID) || !equal(secret, s.cfg.ClientSecret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="zenkeytest"`)
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return false
	}
	return true
}

// formUnescape undoes the form encoding RFC 6749, section 2.3.1 applies to the
// credentials before they are put in the Authorization header.
func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// authenticateAssertion checks a private_key_jwt client assertion, counts it
// when it is refused and writes the error.
func (s *Server) authenticateAssertion(w http.ResponseWriter, form url.Values,
	audiences []string) bool {
	problem := s.checkAssertion(form, audiences)
	if problem == "" {
		return true
	}
	s.mu.Lock()
	s.client.rejected++
	s.mu.Unlock()
	writeError(w, http.StatusUnauthorized, "invalid_client", "client assertion: "+problem)
	return false
}

// assertionClaims are the claims of a client assertion the provider checks.
// The times are pointers, to tell a missing claim from zero.
type assertionClaims struct {
	Issuer    string          `json:"iss"`
	Subject   string          `json:"sub"`
	Audience  json.RawMessage `json:"aud"`
	Expiry    *float64        `json:"exp"`
	IssuedAt  *float64        `json:"iat"`
	NotBefore *float64        `json:"nbf"`
	ID        string          `json:"jti"`
}

// checkAssertion verifies the client assertion in form (RFC 7523, section 3)
// and returns what is wrong with it, or "" when it is accepted. An accepted
// assertion's jti is spent.
func (s *Server) checkAssertion(form url.Values, audiences []string) string {
	s.mu.Lock()
	key := s.client.key
	s.mu.Unlock()

	// Check the form.
	switch {
	case key == nil:
		return "private_key_jwt is not enabled for this client"
	case len(form["client_assertion_type"]) != 1 || len(form["client_assertion"]) != 1:
		return "client_assertion_type and client_assertion must be sent once each"
	case form.Get("client_assertion_type") != assertionType:
		return "client_assertion_type must be " + assertionType
	case form.Has("client_id") && form.Get("client_id") != s.cfg.ClientID:
		return "client_id differs from the client the provider knows"
	}

	// Check the signature. RS256 alone is allowed, which keeps out "none" and
	// an HS256 MAC keyed with the public key.
	jws, err := jose.ParseSignedCompact(form.Get("client_assertion"),
		[]jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "not an RS256 JWS in compact serialization"
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return "the signature does not verify with the client's key"
	}

	// Check the claims.
	var c assertionClaims
	if json.Unmarshal(payload, &c) != nil {
		return "the payload is not a JSON object of well-typed claims"
	}
	if problem := s.assertionProblem(c, audiences); problem != "" {
		return problem
	}

	// Spend the jti last, so that only an assertion otherwise accepted uses
	// it up. The provider lives as long as a test: it forgets none.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client.spent[c.ID] {
		return "jti " + c.ID + " was already used"
	}
	s.client.spent[c.ID] = true
	s.client.last = payload
	s.client.lastKID = jws.Signatures[0].Header.KeyID
	return ""
}

// assertionProblem returns what is wrong with a client assertion's claims, or
// "" when nothing is.
func (s *Server) assertionProblem(c assertionClaims, audiences []string) string {
	now := float64(s.now().UnixNano()) / 1e9
	aud, audOK := audience(c.Audience)
	switch {
	case c.Issuer != s.cfg.ClientID:
		return "iss must be the client ID"
	case c.Subject != s.cfg.ClientID:
		return "sub must be the client ID"
	case !audOK:
		return "aud must be a string or an array of strings"
	case !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(audiences, a) }):
		return "aud must hold " + strings.Join(audiences, " or ")
	case c.Expiry == nil:
		return "exp is required"
	case *c.Expiry <= now:
		return "exp has passed"
	case *c.Expiry > now+maxAssertionLifetime.Seconds():
		return "exp is more than 5 minutes away"
	case c.IssuedAt != nil && *c.IssuedAt > now+assertionLeeway.Seconds():
		return "iat is in the future"
	case c.NotBefore != nil && *c.NotBefore > now+assertionLeeway.Seconds():
		return "nbf is in the future"
	case c.ID == "":
		return "jti is required"
	}
	return ""
}

// audience decodes an aud claim, a string or an array of strings. It reports
// false for anything else, a missing aud included.
func audience(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && many != nil {
		return many, true
	}
	return nil, false
}
