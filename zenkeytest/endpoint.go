package zenkeytest

import (
	"context"
	"net/http"
	"time"
)

// Endpoint names an endpoint of the provider, for [Server.Calls],
// [Server.Sent], [Server.Fail], [Server.Misbehave] and [Server.Delay].
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

// Calls returns how many requests reached e, including those that Fail,
// Misbehave and Delay answered. The forms posted by the interactive pages are
// not counted.
func (s *Server) Calls(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[e]
}

// Sent returns how many bytes of response body e has written, over all its
// answers, those of Fail and Misbehave included. Writing stops when the client
// hangs up, but the network buffers some MiB first: after an [EnormousBody],
// a count well below [EnormousSize] shows that the client stopped reading.
func (s *Server) Sent(e Endpoint) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[e]
}

// fault is how an endpoint answers instead of doing its work: with the
// status set by Fail, or the misbehaviour set by Misbehave. Its zero value
// is no fault.
type fault struct {
	status      int
	misbehavior Misbehavior
}

// Fail makes e answer every later request with the HTTP status, and nothing
// else: a JSON OAuth error for the endpoints servers call, a short text for
// those browsers visit. It replaces a misbehaviour set by [Server.Misbehave],
// as Misbehave replaces it. A status of 0 makes e work again, as does
// [Server.Heal].
func (s *Server) Fail(e Endpoint, status int) {
	s.setFault(e, fault{status: status})
}

// setFault makes f the way e answers.
func (s *Server) setFault(e Endpoint, f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sw.faults == nil {
		s.sw.faults = make(map[Endpoint]fault)
	}
	s.sw.faults[e] = f
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

// endpoint wraps h in the counters and switches every endpoint obeys.
func (s *Server) endpoint(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w = s.counting(e, w)
		if !s.intercept(e, w, r) {
			h(w, r)
		}
	}
}

// intercept counts a request to e, then applies the delay and the fault set
// for e. It reports whether it dealt with the request, by a fault or because
// the client gave up while it waited.
func (s *Server) intercept(e Endpoint, w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	s.calls[e]++
	f, delay := s.sw.faults[e], s.sw.delays[e]
	s.mu.Unlock()

	if delay > 0 && r.Method == http.MethodPost {
		// The server notices a client that gave up only once the body
		// has been read: read it before waiting.
		parseForm(w, r)
	}
	if !wait(r.Context(), delay) {
		return true
	}
	if f.misbehavior != Behave {
		misbehave(w, r, f.misbehavior)
		return true
	}
	status := f.status
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

// counting returns w, counting the body bytes written through it for
// [Server.Sent].
func (s *Server) counting(e Endpoint, w http.ResponseWriter) http.ResponseWriter {
	return &countingWriter{ResponseWriter: w, s: s, e: e}
}

// countingWriter adds what it writes to its endpoint's count.
type countingWriter struct {
	http.ResponseWriter
	s *Server
	e Endpoint
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.s.mu.Lock()
	w.s.sent[w.e] += int64(n)
	w.s.mu.Unlock()
	return n, err
}

// Unwrap gives http.ResponseController the writer underneath, for the
// hijacking of HangUp.
func (w *countingWriter) Unwrap() http.ResponseWriter {
	return w.ResponseWriter
}
