package zenkeytest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"time"
)

// Config describes the provider a [Server] simulates. ClientID and ClientSecret
// are required; every other field has a default.
type Config struct {
	// ClientID is the one client the provider knows. Required.
	ClientID string

	// ClientSecret authenticates that client at the token and revocation
	// endpoints with client_secret_basic, the only method offered unless
	// [Server.SetClientKey] adds private_key_jwt. Required.
	ClientSecret string

	// MCCMNC is the carrier's six-digit mobile country and network code: the
	// one the discovery UI picks and the only one discovery knows. It must not
	// start with 0, since discovery sends it as a JSON number. Default "310999".
	MCCMNC string

	// Subject is the sub of the user who logs in. Default MCCMNC, a dash and 16
	// random hex digits, fixed for the life of the Server: ZenKey's pairwise
	// subjects start with the carrier's mccmnc.
	Subject string

	// ExpiresIn is the access token lifetime, sent as expires_in. Default 30
	// minutes, ZenKey's 1800 seconds.
	ExpiresIn time.Duration

	// Interactive serves real pages: a carrier picker at the discovery UI and an
	// approval page with a PIN at the authorize endpoint. By default both
	// approve at once with a redirect, which suits tests.
	Interactive bool

	// Now is the clock for iat, exp and auth_time and for access token expiry.
	// Default time.Now.
	Now func() time.Time
}

// mccmncPattern matches the carriers' codes this package can serve: six digits
// that read as the same JSON number.
var mccmncPattern = regexp.MustCompile(`^[1-9][0-9]{5}$`)

// withDefaults returns c with its defaults filled in, or panics on a Config no
// Server can run with.
func (c Config) withDefaults() Config {
	if c.ClientID == "" || c.ClientSecret == "" {
		panic("zenkeytest: Config.ClientID and Config.ClientSecret are required")
	}
	if c.MCCMNC == "" {
		c.MCCMNC = "310999"
	}
	if !mccmncPattern.MatchString(c.MCCMNC) {
		panic("zenkeytest: Config.MCCMNC must be six digits not starting with 0")
	}
	if c.Subject == "" {
		b := make([]byte, 8)
		rand.Read(b) // never fails since Go 1.24
		c.Subject = c.MCCMNC + "-" + hex.EncodeToString(b)
	}
	if c.ExpiresIn <= 0 {
		c.ExpiresIn = 30 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Server is a ZenKey-compatible OpenID provider listening on a loopback port:
// carrier discovery, the carrier's OpenID endpoints and the switches that make
// it misbehave. Its methods are safe for concurrent use with the requests it
// serves.
type Server struct {
	// URL is the base URL, like http://127.0.0.1:PORT, without a trailing slash.
	URL string

	// DiscoveryUIURL is the carrier discovery UI: URL + "/ui/discovery-ui".
	DiscoveryUIURL string

	// DiscoveryURL is ZenKey's discovery issuer endpoint, with its underscore:
	// URL + "/.well-known/openid_configuration".
	DiscoveryURL string

	// Issuer is the carrier's issuer, URL + "/carrier/" + MCCMNC. Standard
	// OpenID discovery works at Issuer + "/.well-known/openid-configuration".
	Issuer string

	cfg    Config
	server *httptest.Server

	keysOnce sync.Once // makes the first key: see initKeys

	mu              sync.Mutex // guards the fields below
	keys            keyRing
	sw              switches // the misbehaviour Heal clears
	subject         string
	loginHintToken  string
	userInfo        []byte // a JSON object
	calls           map[Endpoint]int
	sent            map[Endpoint]int64 // body bytes written, for Sent
	lastDiscoveryUI url.Values
	lastAuthorize   url.Values
	codes           map[string]*login      // by authorization code, until redeemed
	access          map[string]accessGrant // by access token, until revoked
	refresh         map[string]*login      // by refresh token, until used or revoked
	revoked         map[string]bool        // tokens the revocation endpoint revoked
	client          clientAuth             // private_key_jwt: see SetClientKey
	previous        []*previousCarrier     // carriers the user moved from, in order
}

// NewServer starts a provider on plain HTTP at 127.0.0.1. It panics when c
// lacks ClientID or ClientSecret or has an invalid MCCMNC, as
// [httptest.NewServer] panics when it cannot listen. Call [Server.Close] when
// done.
func NewServer(c Config) *Server {
	s := newServer(c, "http")
	s.server.Start()
	return s
}

// NewTLSServer is [NewServer] over HTTPS, with httptest's self-signed
// certificate: use [Server.Client], which trusts it.
func NewTLSServer(c Config) *Server {
	s := newServer(c, "https")
	s.server.StartTLS()
	return s
}

// newServer builds an unstarted Server whose URLs are already known, since its
// handlers need them.
func newServer(c Config, scheme string) *Server {
	c = c.withDefaults()
	s := &Server{
		cfg:      c,
		subject:  c.Subject,
		userInfo: defaultUserInfo,
		calls:    make(map[Endpoint]int),
		sent:     make(map[Endpoint]int64),
		codes:    make(map[string]*login),
		access:   make(map[string]accessGrant),
		refresh:  make(map[string]*login),
		revoked:  make(map[string]bool),
		client:   clientAuth{spent: make(map[string]bool)},
	}
	s.server = httptest.NewUnstartedServer(s.routes())
	s.setURLs(scheme + "://" + s.server.Listener.Addr().String())
	return s
}

// setURLs derives the public URLs from the base URL.
func (s *Server) setURLs(base string) {
	s.URL = base
	s.DiscoveryUIURL = s.URL + "/ui/discovery-ui"
	s.DiscoveryURL = s.URL + "/.well-known/openid_configuration"
	s.Issuer = s.URL + s.issuerPath()
}

// issuerPath is the path of every carrier endpoint.
func (s *Server) issuerPath() string {
	return "/carrier/" + s.cfg.MCCMNC
}

// routes maps every endpoint to its handler. The handlers of the interactive
// pages' forms are not endpoints of the protocol and are not counted.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/discovery-ui", s.endpoint(DiscoveryUI, s.handleDiscoveryUI))
	mux.HandleFunc("POST /ui/discovery-ui/choice", s.handleCarrierChoice)
	mux.HandleFunc("GET /.well-known/openid_configuration",
		s.endpoint(Discovery, s.handleDiscovery))

	p := s.issuerPath()
	mux.HandleFunc("GET "+p+"/.well-known/openid-configuration",
		s.endpoint(Configuration, s.handleConfiguration))
	mux.HandleFunc("GET "+p+"/authorize", s.endpoint(Authorize, s.handleAuthorize))
	mux.HandleFunc("POST "+p+"/authorize/decision", s.handleDecision)
	mux.HandleFunc("POST "+p+"/token", s.handleToken) // counts Token or Refresh itself
	mux.HandleFunc("GET "+p+"/userinfo", s.endpoint(UserInfo, s.handleUserInfo))
	mux.HandleFunc("GET "+p+"/jwks", s.endpoint(JWKS, s.handleJWKS))
	mux.HandleFunc("POST "+p+"/revoke", s.endpoint(Revoke, s.handleRevoke))
	mux.HandleFunc("GET "+p+"/end_session", s.endpoint(EndSession, s.handleEndSession))

	// The carriers the user moved from, which the configured carrier's more
	// specific patterns above take precedence over.
	const q = "/carrier/{mccmnc}"
	mux.HandleFunc("GET "+q+"/.well-known/openid-configuration",
		s.endpoint(PreviousCarrierConfiguration, s.handlePreviousConfiguration))
	mux.HandleFunc("GET "+q+"/jwks", s.endpoint(PreviousCarrierJWKS, s.handlePreviousJWKS))
	mux.HandleFunc("GET "+q+"/authorize", s.handlePreviousAuthorize)
	mux.HandleFunc("POST "+q+"/token", s.handlePreviousToken)
	return mux
}

// Close shuts the server down and blocks until its requests are done.
func (s *Server) Close() {
	s.server.Close()
}

// Client returns an HTTP client for the server: for [NewTLSServer], one that
// trusts its certificate.
func (s *Server) Client() *http.Client {
	return s.server.Client()
}

// now reads the configured clock.
func (s *Server) now() time.Time {
	return s.cfg.Now()
}
