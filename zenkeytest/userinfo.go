package zenkeytest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// defaultUserInfo is the user the provider knows until SetUserInfo: ZenKey's
// claims, each a nested object.
var defaultUserInfo = []byte(`{
	"name": {"value": "Jane Doe", "given_name": "Jane", "family_name": "Doe"},
	"email": {"value": "jane.doe@example.com"},
	"phone": {"value": "+13105550123"},
	"postal_code": {"value": "90210"}
}`)

// SetUserInfo sets the claims the userinfo endpoint returns from now on, in
// ZenKey's nested form, such as {"email": {"value": "..."}}. The endpoint
// adds the token's sub unless claims has one. SetUserInfo keeps a copy of
// claims and panics when they cannot be encoded as JSON.
func (s *Server) SetUserInfo(claims map[string]any) {
	body, err := json.Marshal(claims)
	if err != nil {
		panic("zenkeytest: SetUserInfo: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userInfo = body
}

// handleUserInfo is the carrier's userinfo endpoint: the user's claims for a
// valid Bearer access token.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	token := bearerToken(r)
	s.mu.Lock()
	grant, ok := s.access[token]
	body := s.userInfo
	s.mu.Unlock()

	if !ok || !s.now().Before(grant.expiry) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token",
			"the access token is missing, unknown, expired or revoked")
		return
	}

	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		claims = map[string]any{} // SetUserInfo(nil) stored null
	}
	if _, set := claims["sub"]; !set {
		claims["sub"] = grant.login.sub
	}
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken returns the access token of the request's Authorization header,
// or "" when it has none.
func bearerToken(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return token
}
