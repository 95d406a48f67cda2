package zenkeytest

import "net/http"

// RevokedCount returns how many tokens the revocation endpoint has revoked.
// Requests for tokens that were unknown, already used or already revoked do
// not count.
func (s *Server) RevokedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.revoked)
}

// IsRevoked reports whether the revocation endpoint revoked token, an access
// or refresh token the provider issued.
func (s *Server) IsRevoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[token]
}

// handleRevoke is the carrier's revocation endpoint (RFC 7009): the access or
// refresh token stops working at once. The client authenticates as at the
// token endpoint, and a client assertion's aud is the token endpoint here
// too, never this one: ZenKey and OpenID Connect Core (section 9) name the
// token endpoint as the audience of every client assertion. The
// token_type_hint is not needed and is ignored, as the RFC allows. Unknown
// tokens get the same 200, so the answer tells nothing about a token.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		return
	}
	if !s.authenticate(w, r, s.Issuer+"/token") {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}

	s.mu.Lock()
	_, isAccess := s.access[token]
	_, isRefresh := s.refresh[token]
	if isAccess || isRefresh {
		delete(s.access, token)
		delete(s.refresh, token)
		s.revoked[token] = true
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
