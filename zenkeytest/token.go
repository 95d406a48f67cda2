package zenkeytest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// tokenResponse is the token endpoint's answer, with ZenKey's correlation_id.
type tokenResponse struct {
	AccessToken   string `json:"access_token"`
	TokenType     string `json:"token_type"`
	RefreshToken  string `json:"refresh_token,omitempty"`
	ExpiresIn     int64  `json:"expires_in"`
	CorrelationID string `json:"correlation_id"`
	IDToken       string `json:"id_token"`
}

// accessGrant is what an access token opens, and until when.
type accessGrant struct {
	login  *login
	expiry time.Time
}

// handleToken is the carrier's token endpoint. It counts itself, as Token or
// Refresh, once it has read the grant type.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	err := parseForm(w, r)
	e := Token
	if r.PostForm.Get("grant_type") == "refresh_token" {
		e = Refresh
	}
	w = s.counting(e, w)
	if s.intercept(e, w, r) {
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a valid form")
		return
	}

	s.mu.Lock()
	forced := s.sw.tokenError
	s.mu.Unlock()
	if forced != "" {
		writeError(w, errorStatus(forced), forced, "simulated error")
		return
	}
	if !s.authenticate(w, r, s.Issuer+"/token") {
		return
	}

	l, oerr := s.redeem(r.PostForm)
	if oerr != nil {
		oerr.write(w)
		return
	}
	resp, err := s.issue(l)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// errorStatus is the HTTP status of an OAuth error code at the token endpoint.
func errorStatus(code string) int {
	if code == "invalid_client" {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// redeem exchanges the grant in the form for the login it stands for. Codes
// and refresh tokens are single use: they are gone once looked up, even when
// the request then fails.
func (s *Server) redeem(form url.Values) (*login, *oauthError) {
	switch form.Get("grant_type") {
	case "authorization_code":
		return s.redeemCode(form)
	case "refresh_token":
		return s.redeemRefreshToken(form.Get("refresh_token"))
	}
	return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
		"grant_type must be authorization_code or refresh_token"}
}

// redeemCode checks an authorization code grant against its authorization
// request: the same redirect_uri, and the code_verifier of its PKCE challenge.
func (s *Server) redeemCode(form url.Values) (*login, *oauthError) {
	code := form.Get("code")
	s.mu.Lock()
	l, ok := s.codes[code]
	delete(s.codes, code)
	s.mu.Unlock()

	switch {
	case !ok:
		return nil, invalidGrant("the code is unknown or was already used")
	case form.Get("redirect_uri") != l.redirectURI:
		return nil, invalidGrant("redirect_uri differs from the authorization request's")
	case form.Get("code_verifier") == "":
		return nil, invalidRequest("code_verifier is required: the request had a code_challenge")
	case s256(form.Get("code_verifier")) != l.challenge:
		return nil, invalidGrant("code_verifier does not match the code_challenge")
	}
	return l, nil
}

// redeemRefreshToken takes a refresh token out of use: refresh tokens rotate,
// so each is good for one refresh.
func (s *Server) redeemRefreshToken(token string) (*login, *oauthError) {
	s.mu.Lock()
	l, ok := s.refresh[token]
	delete(s.refresh, token)
	s.mu.Unlock()

	if !ok {
		return nil, invalidGrant("the refresh token is unknown, used or revoked")
	}
	return l, nil
}

// issue makes the tokens of a login: an access token, an id_token and, when
// offline_access was granted, a new refresh token.
func (s *Server) issue(l *login) (*tokenResponse, error) {
	now := s.now()
	resp := &tokenResponse{
		AccessToken:   rand.Text(),
		TokenType:     "Bearer",
		ExpiresIn:     int64(s.cfg.ExpiresIn / time.Second),
		CorrelationID: l.correlationID,
	}
	idToken, err := s.idToken(l, resp.AccessToken, now)
	if err != nil {
		return nil, err
	}
	resp.IDToken = idToken
	if l.offline {
		resp.RefreshToken = rand.Text()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.access[resp.AccessToken] = accessGrant{login: l, expiry: now.Add(s.cfg.ExpiresIn)}
	if resp.RefreshToken != "" {
		s.refresh[resp.RefreshToken] = l
	}
	return resp, nil
}

// s256 is PKCE's S256 transformation of a code_verifier (RFC 7636).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
