package zenkeytest

import (
	"encoding/json"
	"net/http"
	"slices"
)

// configuration is the carrier's OpenID provider configuration, as ZenKey's
// discovery issuer and the carrier's own discovery return it.
type configuration struct {
	Issuer                string      `json:"issuer"`
	AuthorizationEndpoint string      `json:"authorization_endpoint"`
	TokenEndpoint         string      `json:"token_endpoint"`
	UserInfoEndpoint      string      `json:"userinfo_endpoint"`
	JWKSURI               string      `json:"jwks_uri"`
	RevocationEndpoint    string      `json:"revocation_endpoint"`
	EndSessionEndpoint    string      `json:"end_session_endpoint"`
	ScopesSupported       []string    `json:"scopes_supported"`
	ResponseTypes         []string    `json:"response_types_supported"`
	GrantTypes            []string    `json:"grant_types_supported"`
	SubjectTypes          []string    `json:"subject_types_supported"`
	SigningAlgs           []string    `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods      []string    `json:"token_endpoint_auth_methods_supported"`
	TokenAuthSigningAlgs  []string    `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	CodeChallengeMethods  []string    `json:"code_challenge_methods_supported"`
	ACRValues             []string    `json:"acr_values_supported"`
	MCCMNC                json.Number `json:"mccmnc"` // a number, as in the carriers' fixtures

	BackchannelLogout        bool `json:"backchannel_logout_supported,omitempty"`
	BackchannelLogoutSession bool `json:"backchannel_logout_session_supported,omitempty"`
}

// configuration returns the carrier's configuration. The standard discovery
// document also announces back-channel logout, which relying parties only
// meet outside ZenKey.
func (s *Server) configuration(standard bool) configuration {
	methods := s.authMethods()
	var assertionAlgs []string // announced only when private_key_jwt is offered
	if slices.Contains(methods, "private_key_jwt") {
		assertionAlgs = []string{"RS256"}
	}
	return configuration{
		Issuer:                s.Issuer,
		AuthorizationEndpoint: s.Issuer + "/authorize",
		TokenEndpoint:         s.Issuer + "/token",
		UserInfoEndpoint:      s.Issuer + "/userinfo",
		JWKSURI:               s.Issuer + "/jwks",
		RevocationEndpoint:    s.Issuer + "/revoke",
		EndSessionEndpoint:    s.Issuer + "/end_session",
		ScopesSupported: []string{"openid", "name", "email", "phone", "postal_code",
			"address", "birthdate", "offline_access"},
		ResponseTypes:            []string{"code"},
		GrantTypes:               []string{"authorization_code", "refresh_token"},
		SubjectTypes:             []string{"pairwise"},
		SigningAlgs:              []string{"RS256"},
		TokenAuthMethods:         methods,
		TokenAuthSigningAlgs:     assertionAlgs,
		CodeChallengeMethods:     []string{"S256"},
		ACRValues:                []string{"a1", "a3"},
		MCCMNC:                   json.Number(s.cfg.MCCMNC),
		BackchannelLogout:        standard,
		BackchannelLogoutSession: standard,
	}
}

// handleDiscovery is ZenKey's discovery issuer: the configuration of the
// carrier named by mccmnc, for the configured client. The carriers added by
// AddPreviousCarrier are known too.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mccmnc := q.Get("mccmnc")
	previous, isPrevious := s.lookupPrevious(mccmnc)
	switch {
	case q.Get("client_id") != s.cfg.ClientID:
		writeError(w, http.StatusBadRequest, "invalid_request", "client_id is missing or unknown")
	case mccmnc == "":
		writeError(w, http.StatusBadRequest, "invalid_request", "mccmnc is required")
	case mccmnc == s.cfg.MCCMNC:
		writeJSON(w, http.StatusOK, s.configuration(false))
	case isPrevious:
		writeJSON(w, http.StatusOK, previous.configuration())
	default:
		writeError(w, http.StatusNotFound, "provider_not_found", "no carrier has this mccmnc")
	}
}

// handleConfiguration is the carrier's standard OpenID discovery.
func (s *Server) handleConfiguration(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.configuration(true))
}
