package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zenkey-go/zenkey"
)

// signInContext is the text ZenKey shows the user while they approve.
const signInContext = "Sign in to the zenkey example app"

// The scopes the app asks for: ZenKey's own claims, or a standard provider's
// with ZENKEY_ISSUER. offline_access brings a refresh token.
var (
	zenkeyScopes = []string{"openid", "offline_access", "name", "email", "phone", "postal_code"}
	issuerScopes = []string{"openid", "offline_access", "profile", "email"}
)

// shutdownTimeout bounds how long a stopping app waits for the requests it
// is serving.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run runs the app until ctx is done, then shuts it down cleanly. It reads
// its configuration with env, prints what it started and its log to out,
// and calls ready, when not nil, with the app's URL once it accepts
// requests.
func run(ctx context.Context, env func(string) string, out io.Writer,
	ready func(appURL string)) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(out, nil))

	// The store and the master secret come first: what a restarted app
	// must find again for its sessions to live on. The store first, as it
	// checks that its directory, where the key file may go, is private.
	store, err := cfg.Store.open(ctx)
	if err != nil {
		return err
	}
	defer closeLogged(log, "store", store.close)
	secret, secretFrom, err := masterSecret(cfg)
	if err != nil {
		return err
	}

	// Listen before the middleware exists: the redirect URL may need the
	// port the system chose.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("example: %w", err)
	}
	defer ln.Close()
	redirectURL := cmp.Or(cfg.RedirectURL, callbackURL(cfg.Addr, ln.Addr()))

	// The provider (simulated in demo mode) and the demo API.
	var simulatedURL string
	if cfg.Demo {
		idp := startSimulatedZenKey(&cfg)
		defer idp.Close()
		simulatedURL = idp.URL
	}
	api, err := startDemoAPI()
	if err != nil {
		return fmt.Errorf("example: starting the demo API: %w", err)
	}
	defer closeLogged(log, "demo API", api.Close)

	zk, err := zenkey.New(zenkeyOptions(cfg, secret, store, redirectURL, log))
	if err != nil {
		return err
	}
	defer zk.WaitRevocations() // before the simulated provider closes
	a := &app{zk: zk, api: api.URL, demo: cfg.Demo, log: log}
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}

	appURL := origin(redirectURL)
	announce(out, cfg, startup{appURL, redirectURL, simulatedURL, api.URL.String(), secretFrom})
	if ready != nil {
		ready(appURL)
	}
	return serve(ctx, srv, ln, log)
}

// zenkeyOptions configures the middleware for the app.
func zenkeyOptions(c config, secret zenkey.Secret, store zenkey.Store, redirectURL string,
	log *slog.Logger) zenkey.Options {
	scopes := zenkeyScopes
	if c.Issuer != "" {
		scopes = issuerScopes
	}
	return zenkey.Options{
		ClientID:       c.ClientID,
		ClientSecret:   string(c.ClientSecret),
		RedirectURL:    redirectURL,
		SecretKey:      secret,
		Issuer:         c.Issuer,
		DiscoveryUIURL: c.DiscoveryUIURL,
		DiscoveryURL:   c.DiscoveryURL,
		Scopes:         scopes,
		Context:        signInContext,
		Store:          store,
		Logger:         log,
	}
}

// serve serves on ln until ctx is done, then shuts the server down: it
// stops accepting and waits for the requests in progress.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("example: %w", err)
	case <-ctx.Done():
	}

	log.Info("example: shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		return fmt.Errorf("example: shutting down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("example: %w", err)
	}
	return nil
}

// callbackURL derives the redirect URL from ADDR and the port the listener
// got. It keeps ADDR's host as written, "localhost" when ADDR names none or
// every interface: the browser must meet the app at one origin, since the
// cookie of a login started at localhost is not sent to 127.0.0.1.
func callbackURL(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(bound.String())
	return "http://" + net.JoinHostPort(host, port) + "/auth/callback"
}

// origin returns the scheme and host of an absolute URL: where the browser
// opens the app.
func origin(rawURL string) string {
	u, _ := url.Parse(rawURL) // checked by loadConfig, or built by callbackURL
	return u.Scheme + "://" + u.Host
}

// closeLogged closes what is named, logging a failure: nothing is left to
// do about it while the app stops.
func closeLogged(log *slog.Logger, what string, close func() error) {
	if err := close(); err != nil {
		log.Warn("example: closing "+what, "error", err)
	}
}
