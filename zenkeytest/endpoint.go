package zenkeytest

import (
	"context"
	"net/http"
	"time"
)

// Endpoint names an endpoint of the provider, for [Server.Calls], [Server.Fail]
// and [Server.Delay].
type Endpoint string

// The provider's endpoints.
const (
	DiscoveryUI   Endpoint = "discovery-ui"  // GET /ui/discovery-ui
	Discovery     Endpoint = "discovery"     // GET /.well-known/openid_configuration
	Configuration Endpoint = "configuration" // GET {Issuer}/.well-known/openid-configuration
	Authorize     Endpoint = "authorize"     // GET {Issuer}/authorize
	Token         Endpoint = "token"         // POST {Issuer}/token, except refresh grants
	Refresh       Endpoint = "refresh"       // POST {Issuer}/token, grant_type=refresh_token
	UserInfo      Endpoint = "userinfo"      // GET {Issuer}/userinfo
	JWKS          Endpoint = "jwks"          // GET {Issuer}/jwks
	Revoke        Endpoint = "revoke"        // POST {Issuer}/revoke
	EndSession    Endpoint = "end-session"   // GET {Issuer}/end_session

	// GET {issuer}/.well-known/openid-configuration of a carrier added by
	// Server.AddPreviousCarrier, all such carriers counted together.
	PreviousCarrierConfiguration Endpoint = "previous-carrier-configuration"

	// GET {issuer}/jwks of a carrier added by Server.AddPreviousCarrier, all
	// such carriers counted together.
	PreviousCarrierJWKS Endpoint = "previous-carrier-jwks"
)

// browser reports whether a browser, not the relying party's server, calls e.
func (e Endpoint) browser() bool {
	return e == DiscoveryUI || e == Authorize || e == EndSession
}

// Calls returns how many requests reached e, including those that Fail and
// Delay answered. The forms posted by the interactive pages are not counted.
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// Fail makes e answer every later request with the HTTP status, and nothing
// else: a JSON OAuth error for the endpoints servers call, a short text for
// those browsers visit. A status of 0 makes e work again, as does [Server.Heal].
func (s *Server) Fail(e Endpoint, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sw.failures == nil {
		s.sw.failures = make(map[Endpoint]int)
	}
	s.sw.failures[e] = status
}

// Delay makes e wait d before it answers each later request, or until the
// client gives up: the wait ends early when the request's context is done. A
// delay of 0 removes it, as does [Server.Heal].
func (s *Server) Delay(e Endpoint, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sw.delays == nil {
		s.sw.delays = make(map[Endpoint]time.Duration)
	}
	s.sw.delays[e] = d
}

// endpoint wraps h in the switches every endpoint obeys.
func (s *Server) endpoint(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.intercept(e, w, r) {
			h(w, r)
		}
	}
}

// intercept counts a request to e, then applies the delay and the failure set
// for e. It reports whether it dealt with the request, by a failure or because
// the client gave up while it waited.
func (s *Server) intercept(e Endpoint, w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.calls[e]++
	status, delay := s.sw.failures[e], s.sw.delays[e]
	s.mu.Unlock()

	if delay > 0 && r.Method == http.MethodPost {
		// The server notices a client that gave up only once the body
		// has been read: read it before waiting.
		parseForm(w, r)
	}
	if !wait(r.Context(), delay) {
		return true
	}
	if status == 0 {
		return false
	}
	if e.browser() {
		http.Error(w, "zenkeytest: simulated failure of "+string(e), status)
		return true
	}
	code := "server_error"
	if status == http.StatusServiceUnavailable {
		code = "temporarily_unavailable"
	}
	writeError(w, status, code, "simulated failure of "+string(e))
	return true
}

// wait sleeps for d, or less when ctx is done first; it reports whether it
// slept the full time.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
