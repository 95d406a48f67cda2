package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// parseApp parses -app: the URL of a running app, on loopback. It returns
// the app's origin, http://HOST:PORT, as the app's browsers address it.
func parseApp(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("zenkeyload: -app: %w", err)
	case u.Scheme != "http" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("zenkeyload: -app must be the app's origin, "+
			"such as http://localhost:8080, not %q", s)
	case !isLoopback(u.Hostname()):
		return "", fmt.Errorf("zenkeyload: -app names host %q, which is not loopback: "+
			"use localhost, 127.0.0.1 or ::1", u.Hostname())
	}
	return "http://" + u.Host, nil
}

// appResult is what a run against a running app measured and found.
type appResult struct {
	browsers      int
	load          phase   // the signed-in requests, or the cycles
	stopped       bool    // -duration ended the run before -n
	signOutFailed int     // requests: browsers that could not be signed out at the end
	census        *census // what the run left in the store; nil when it cannot be read
}

// runApp runs the mode cfg asks for against the app at cfg.app, running
// in another process, and writes its report to out. With -store, it reads
// the app's store before and after the run, and counts what the run left.
func runApp(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration+time.Minute) // setup included
	defer cancel()
	deadline := time.Now().Add(cfg.duration)

	c, err := dialApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.close()
	reader, err := openReader(ctx, cfg.store)
	if err != nil {
		return nil, err
	}
	var before map[string]bool
	if reader != nil {
		defer reader.close()
		if before, err = reader.keys(ctx); err != nil {
			return nil, err
		}
	}

	res := &appResult{browsers: cfg.browsers}
	switch cfg.mode {
	case "requests":
		err = res.runRequests(ctx, c, cfg, deadline)
	case "cycles":
		res.load = driveCycles(ctx, c, cfg, deadline)
	}
	if err != nil {
		return nil, err
	}
	res.stopped = res.load.requests < cfg.n
	if reader != nil {
		if res.census, err = takeCensus(ctx, reader, before); err != nil {
			return nil, err
		}
	}
	res.report(out, cfg)
	return &result{app: res, failures: res.failures(cfg.mode)}, nil
}

// dialApp finds the app at cfg.app: the loopback address it answers at,
// for the load's connections, and a home page that answers.
func dialApp(ctx context.Context, cfg config) (*client, error) {
	u, _ := url.Parse(cfg.app) // checked by parseApp
	port := u.Port()
	if port == "" {
		port = "80"
	}
	ips, err := loopbackIPs(ctx, u.Hostname())
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	for _, ip := range ips {
		addr := net.JoinHostPort(ip, port)
		dialCtx, cancel := context.WithTimeout(ctx, connectTimeout)
		conn, err := d.DialContext(dialCtx, "tcp", addr)
		cancel()
		if err != nil {
			continue
		}
		conn.Close()
		c := newClient(cfg.app, addr, ip, cfg.conns)
		home, err := c.newBrowser().get(ctx, cfg.app+"/", true)
		if err == nil && home.status != http.StatusOK {
			err = fmt.Errorf("status %d", home.status)
		}
		if err != nil {
			c.close()
			return nil, fmt.Errorf("zenkeyload: the app at %s does not answer GET /: %w",
				cfg.app, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("zenkeyload: nothing answers at %s: start the example first "+
		"(go run ./example)", cfg.app)
}

// loopbackIPs returns the loopback addresses host names: itself when it
// is an address, or those localhost resolves to that are loopback.
func loopbackIPs(ctx context.Context, host string) ([]string, error) {
	if !strings.EqualFold(host, "localhost") {
		return []string{host}, nil // parseApp checked it is a loopback address
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: -app: %w", err)
	}
	var ips []string
	for _, a := range addrs {
		if a.IP.IsLoopback() {
			ips = append(ips, a.IP.String())
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("zenkeyload: -app: localhost resolves to no loopback address")
	}
	return ips, nil
}

// runRequests signs the browsers in through the app's real pages, sends
// the signed-in requests, and signs the browsers out again: the app and
// its store are someone's, and a run leaves nothing in them.
func (r *appResult) runRequests(ctx context.Context, c *client, cfg config,
	deadline time.Time) error {
	browsers, cookies, err := signIn(ctx, c, cfg.browsers)
	defer func() { r.signOutFailed = signOut(ctx, c, browsers) }()
	if err != nil {
		return err
	}
	app := loadTarget{c.appAddr, requestsFor(c.appURL, cookies)}
	app.drive(ctx, cfg.conns, warmUp(cfg.n), deadline) // unmeasured, as in-process
	r.load = app.drive(ctx, cfg.conns, cfg.n, deadline)
	return nil
}

// signOut signs the browsers out, even when the run was interrupted, and
// returns how many could not be.
func signOut(ctx context.Context, c *client, browsers []*browser) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	failed := 0
	for _, br := range browsers {
		if err := c.logout(ctx, br); err != nil {
			failed++
		}
	}
	return failed
}

// failures lists what makes the run fail: errors, browsers left signed
// in, and records the run left in the store.
func (r *appResult) failures(mode string) []string {
	var f []string
	if r.load.errors > 0 {
		f = append(f, fmt.Sprintf("%d %s failed (%s)", r.load.errors, mode,
			topSamples(r.load.samples)))
	}
	if r.signOutFailed > 0 {
		f = append(f, fmt.Sprintf("%d browsers could not be signed out", r.signOutFailed))
	}
	if c := r.census; c != nil && c.sessions > 0 {
		f = append(f, fmt.Sprintf("%d sessions the run created are left in the store",
			c.sessions))
	}
	if c := r.census; c != nil && c.logins > 0 {
		f = append(f, fmt.Sprintf("%d pending logins the run created are left in the store",
			c.logins))
	}
	return f
}
