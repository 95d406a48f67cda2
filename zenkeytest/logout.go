package zenkeytest

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"time"
)

// logoutTokenLifetime is how long a back-channel logout token is valid.
const logoutTokenLifetime = 2 * time.Minute

// backchannelLogoutEvent is the event that marks a JWT as a logout token.
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken returns a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) for the configured client, signed with the current
// key: typ "logout+jwt", iss, aud, iat, exp two minutes later, a random jti,
// the logout event, and sub and sid unless they are empty. Post it to the
// relying party as the logout_token form field. ZenKey itself sends none:
// this is for the relying party's standard-provider path.
func (s *Server) LogoutToken(sub, sid string) string {
	now := s.now()
	claims := map[string]any{
		"iss":    s.Issuer,
		"aud":    s.cfg.ClientID,
		"iat":    now.Unix(),
		"exp":    now.Add(logoutTokenLifetime).Unix(),
		"jti":    rand.Text(),
		"events": map[string]any{backchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		claims["sub"] = sub
	}
	if sid != "" {
		claims["sid"] = sid
	}
	return s.SignLogoutToken(claims)
}

// SignLogoutToken signs claims as they are, with the current key and typ
// "logout+jwt", for tests of malformed logout tokens. It panics when claims
// cannot be encoded as JSON.
func (s *Server) SignLogoutToken(claims map[string]any) string {
	return s.mustSign(claims, "logout+jwt")
}

// handleEndSession is the carrier's RP-initiated logout endpoint. It accepts
// id_token_hint without checking it, and sends the browser to
// post_logout_redirect_uri with the state, or shows a signed-out page when
// there is none.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("post_logout_redirect_uri")
	if raw == "" {
		renderMessage(w, http.StatusOK, "Signed out", "You are signed out of ZenKey (simulated).")
		return
	}
	back, ok := absoluteURL(raw)
	if !ok {
		renderMessage(w, http.StatusBadRequest, "Invalid request",
			"The post_logout_redirect_uri must be an absolute URL without a fragment.")
		return
	}
	params := url.Values{}
	if state := q.Get("state"); state != "" {
		params.Set("state", state)
	}
	redirectTo(w, r, back, params)
}
