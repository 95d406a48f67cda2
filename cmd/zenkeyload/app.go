package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
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

// A bench is everything an in-process run drives: the provider, the store,
// the app behind the middleware, the bare handler, and the client that
// plays the browsers.
type bench struct {
	*client
	cfg   config
	idp   *zenkeytest.Server
	st    *openedStore
	store *trackingStore
	zk    *zenkey.Middleware
	app   *loopbackServer
	bare  *loopbackServer

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

	var err error
	if b.app, err = listen(cfg.host); err != nil {
		b.close()
		return nil, err
	}
	b.client = newClient(b.app.url, b.app.addr, listenIP(cfg.host), cfg.conns)
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
	if b.client != nil {
		b.client.close()
	}
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
