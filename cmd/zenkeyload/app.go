package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeytest"
)

// The app is built like the example app: the same scopes and context text,
// a protected profile, a public home, the middleware's own routes.
const (
	clientID      = "zenkeyload"
	signInContext = "Sign in to the zenkey load test"

	// placeholderSubject is what the profile answers without reading the
	// session: a subject's length, so both handlers send the same body.
	placeholderSubject = "310999-0000000000000000"
)

var scopes = []string{"openid", "offline_access", "name", "email", "phone", "postal_code"}

// A bench is everything a run drives: the provider, the store, the app
// behind the middleware, the bare handler, and the browsers' transport.
type bench struct {
	cfg       config
	idp       *zenkeytest.Server
	st        *openedStore
	store     *trackingStore
	zk        *zenkey.Middleware
	app       *loopbackServer
	bare      *loopbackServer
	transport *http.Transport

	finishOnce sync.Once
	left       storeCount
	finishErr  error
}

// start starts the provider, the app over st and, for the requests mode,
// the bare handler.
func start(cfg config, st *openedStore) (*bench, error) {
	secret := rand.Text()
	b := &bench{
		cfg:   cfg,
		idp:   zenkeytest.NewServer(zenkeytest.Config{ClientID: clientID, ClientSecret: secret}),
		st:    st,
		store: &trackingStore{Store: st.Store},
	}
	// Every login makes a token exchange and every logout a revocation:
	// keep connections to the provider, rather than one per call.
	provider := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: cfg.conns + 4},
	}
	b.transport = &http.Transport{
		Proxy:               nil,
		DialContext:         loopbackDialer(cfg.host),
		MaxIdleConnsPerHost: cfg.conns + 4,
		IdleConnTimeout:     30 * time.Second,
	}

	var err error
	if b.app, err = listen(cfg.host); err != nil {
		b.close()
		return nil, err
	}
	b.zk, err = zenkey.New(zenkey.Options{
		ClientID:       clientID,
		ClientSecret:   secret,
		RedirectURL:    b.app.url + "/auth/callback",
		SecretKey:      []byte(rand.Text() + rand.Text()), // 52 random base32 digits
		DiscoveryUIURL: b.idp.DiscoveryUIURL,
		DiscoveryURL:   b.idp.DiscoveryURL,
		Scopes:         scopes,
		Context:        signInContext,
		Store:          b.store,
		HTTPClient:     provider,
	})
	if err != nil {
		b.close()
		return nil, err
	}
	profile := profileHandler(cfg.subject)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", http.HandlerFunc(home))
	mux.Handle("GET /profile", b.zk.RequireLogin(profile))
	b.app.serve(b.zk.Handler(mux))

	if cfg.mode == "requests" {
		if b.bare, err = listen(cfg.host); err != nil {
			b.close()
			return nil, err
		}
		bare := http.NewServeMux()
		bare.Handle("GET /profile", profile)
		b.bare.serve(bare)
	}
	return b, nil
}

// finish waits for the logouts' revocations, then closes the store and
// counts what is left in it, once.
func (b *bench) finish(ctx context.Context) (storeCount, error) {
	b.finishOnce.Do(func() {
		b.zk.WaitRevocations()
		b.left, b.finishErr = b.st.finish(ctx)
	})
	return b.left, b.finishErr
}

// close stops the servers and the provider, and finishes the store if the
// run did not.
func (b *bench) close() {
	for _, s := range []*loopbackServer{b.app, b.bare} {
		if s != nil {
			s.close()
		}
	}
	if b.zk != nil {
		b.finish(context.Background())
	} else {
		b.st.finish(context.Background())
	}
	b.transport.CloseIdleConnections()
	b.idp.Close()
}

// profileHandler answers the protected profile as JSON: with the session's
// subject when withSubject (which decrypts the session), or a placeholder
// of the same length.
func profileHandler(withSubject bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := placeholderSubject
		if s := zenkey.SessionFromContext(r.Context()); s != nil && withSubject {
			sub = s.Subject()
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sub":"`+sub+`"}`+"\n")
	})
}

func home(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "zenkeyload home\n")
}

// A loopbackServer serves one handler on a loopback port.
type loopbackServer struct {
	ln   net.Listener
	srv  *http.Server
	url  string // as browsers address it: http://HOST:PORT
	addr string // as the load connects to it: IP:PORT
	done chan struct{}
}

func listen(host string) (*loopbackServer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(listenIP(host), "0"))
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: %w", err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &loopbackServer{
		ln:   ln,
		url:  "http://" + net.JoinHostPort(strings.Trim(host, "[]"), port),
		addr: ln.Addr().String(),
		done: make(chan struct{}),
	}, nil
}

func (s *loopbackServer) serve(h http.Handler) {
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		s.srv.Serve(s.ln)
	}()
}

func (s *loopbackServer) close() {
	if s.srv == nil {
		s.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
	<-s.done
}

// loopbackDialer dials localhost at the address the servers listen on,
// rather than trying ::1 and 127.0.0.1 in turn.
func loopbackDialer(host string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if !isLoopback(h) {
			return nil, fmt.Errorf("zenkeyload: refusing to connect to %s: not loopback", addr)
		}
		if strings.EqualFold(h, "localhost") {
			addr = net.JoinHostPort(listenIP(host), port)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// A browser is an HTTP client with its own cookie jar, following redirects
// like a browser.
type browser struct {
	*http.Client
	jar *cookiejar.Jar
}

func (b *bench) newBrowser() *browser {
	jar, _ := cookiejar.New(nil) // no options: cannot fail
	return &browser{
		Client: &http.Client{Transport: b.transport, Jar: secureJar{jar},
			Timeout: 30 * time.Second},
		jar: jar,
	}
}

// secureJar treats every loopback origin as secure, as browsers do, so
// that the middleware's Secure __Host- cookies work over plain HTTP on
// 127.0.0.1 too (Go's jar makes that exception for localhost alone).
type secureJar struct{ jar *cookiejar.Jar }

func (j secureJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(httpsURL(u), cookies)
}

func (j secureJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(httpsURL(u)) }

func httpsURL(u *url.URL) *url.URL {
	c := *u
	if c.Scheme == "http" && isLoopback(c.Hostname()) {
		c.Scheme = "https"
	}
	return &c
}

// cookieHeader is the Cookie header the browser sends to the app.
func (b *bench) cookieHeader(br *browser) string {
	u, _ := url.Parse(b.app.url)
	var pairs []string
	for _, c := range br.jar.Cookies(httpsURL(u)) {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// errStatus is an unexpected answer on a step of a cycle.
type errStatus struct {
	step   string
	status int
	path   string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s: status %d at %s", e.step, e.status, e.path)
}

// get sends a GET as a navigation (accepting HTML) or an API call
// (accepting JSON), follows the redirects, and returns the last answer's
// status, path and body.
func (br *browser) get(ctx context.Context, target string, nav bool) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Accept", map[bool]string{true: "text/html", false: "application/json"}[nav])
	return br.do(req)
}

func (br *browser) do(req *http.Request) (int, string, string, error) {
	resp, err := br.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, resp.Request.URL.Path, string(body), err
}

// login signs the browser in: the login path, carrier discovery, the
// provider's approval, the callback, and back to the profile.
func (b *bench) login(ctx context.Context, br *browser) error {
	status, path, _, err := br.get(ctx, b.app.url+"/auth/login?return_to=/profile", true)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if status != http.StatusOK || path != "/profile" {
		return &errStatus{"login", status, path}
	}
	return nil
}

// logout signs the browser out with a same-origin form post, and follows
// the redirect home.
func (b *bench) logout(ctx context.Context, br *browser) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.app.url+"/auth/logout",
		strings.NewReader(""))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.app.url)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	status, path, _, err := br.do(req)
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	if status != http.StatusOK || path != "/" {
		return &errStatus{"logout", status, path}
	}
	return nil
}

// profile asks for the profile as an API call would: 200 signed in, 401
// signed out.
func (b *bench) profile(ctx context.Context, br *browser) (int, error) {
	status, path, body, err := br.get(ctx, b.app.url+"/profile", false)
	if err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	if status == http.StatusOK && !strings.Contains(body, `"sub":"`) {
		return status, errors.New("profile: no subject in " + path)
	}
	return status, nil
}
