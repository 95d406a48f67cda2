package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// The limits on a run, so that a typo cannot start an endless one.
const (
	maxRequests = 1_000_000
	maxCycles   = 100_000
	maxConns    = 256
	maxBrowsers = 1_000
	maxDuration = 10 * time.Minute
)

// config is a run's parsed flags.
type config struct {
	mode     string // "requests" or "cycles"
	app      string // the origin of a running app to drive, or "" to start one
	store    storeSpec
	n        int
	duration time.Duration
	conns    int
	browsers int
	host     string
	subject  bool
	profile  string // file for a CPU profile of the run, or ""
}

func main() {
	// Files the stores create (SQLite's, above all) are for this user only.
	syscall.Umask(0o077)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	stopProfile, err := startProfile(cfg.profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := run(ctx, cfg, os.Stdout)
	stopProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(res.failures) > 0 {
		fmt.Fprintln(os.Stderr, "zenkeyload: FAILED: "+strings.Join(res.failures, "; "))
		os.Exit(1)
	}
}

// parseFlags reads the command line and checks it against the limits.
func parseFlags(args []string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("zenkeyload", flag.ContinueOnError)
	fs.SetOutput(errOut)
	mode := fs.String("mode", "requests", "requests or cycles")
	app := fs.String("app", "", "drive the running example app at this loopback URL, "+
		"such as http://localhost:8080,\ninstead of one started in this process")
	store := fs.String("store", "memory",
		"memory, sqlite:PATH, redis://HOST:PORT[/DB] or postgres://...;\n"+
			"with -app, the app's own store (its ZENKEY_STORE), to count what the run left")
	n := fs.Int("n", 0, fmt.Sprintf("requests per handler (default 100000, at most %d), "+
		"or cycles (default 1000, at most %d)", maxRequests, maxCycles))
	duration := fs.Duration("duration", time.Minute, "longest run, at most "+maxDuration.String())
	conns := fs.Int("c", 16,
		fmt.Sprintf("concurrency: connections, or cycles at a time (at most %d)", maxConns))
	browsers := fs.Int("browsers", 8, fmt.Sprintf("browsers signed in for requests (at most %d)",
		maxBrowsers))
	host := fs.String("host", "localhost", "loopback host the app listens on")
	subject := fs.Bool("subject", false, "the profile handler reads the session's subject "+
		"(decrypting the session) instead of answering a fixed body")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("zenkeyload: unexpected arguments %q", fs.Args())
	}

	cfg := config{mode: *mode, n: *n, duration: *duration, conns: *conns, browsers: *browsers,
		host: *host, subject: *subject, profile: *profile}
	var err error
	if cfg.store, err = parseStore(*store); err != nil {
		return config{}, err
	}
	if *app != "" {
		if cfg.app, err = parseApp(*app); err != nil {
			return config{}, err
		}
		if err := inProcessOnly(fs); err != nil {
			return config{}, err
		}
	}
	return cfg, cfg.check()
}

// inProcessOnly refuses, with -app, the flags that shape the app started
// in this process, which a running app ignores.
func inProcessOnly(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "host" || f.Name == "subject" {
			err = fmt.Errorf("zenkeyload: -%s shapes the app started in this process: "+
				"it does not go with -app", f.Name)
		}
	})
	return err
}

// check applies the defaults and the limits.
func (c *config) check() error {
	limit := maxRequests
	switch c.mode {
	case "requests":
		if c.n == 0 {
			c.n = 100_000
		}
	case "cycles":
		limit = maxCycles
		if c.n == 0 {
			c.n = 1_000
		}
	default:
		return fmt.Errorf("zenkeyload: -mode must be requests or cycles, not %q", c.mode)
	}
	switch {
	case c.n < 1 || c.n > limit:
		return fmt.Errorf("zenkeyload: -n must be between 1 and %d for %s", limit, c.mode)
	case c.conns < 1 || c.conns > maxConns:
		return fmt.Errorf("zenkeyload: -c must be between 1 and %d", maxConns)
	case c.browsers < 1 || c.browsers > maxBrowsers:
		return fmt.Errorf("zenkeyload: -browsers must be between 1 and %d", maxBrowsers)
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("zenkeyload: -duration must be positive and at most %v", maxDuration)
	case !isLoopback(c.host):
		return fmt.Errorf("zenkeyload: -host %q is not loopback: use localhost, 127.0.0.1 or ::1",
			c.host)
	}
	return nil
}

// isLoopback reports whether host names this machine's loopback interface:
// localhost, an address in 127.0.0.0/8, or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// listenIP is the address to listen on for host: localhost resolves to
// both 127.0.0.1 and ::1, and the app must be at one of them.
func listenIP(host string) string {
	if strings.EqualFold(host, "localhost") {
		return "127.0.0.1"
	}
	return strings.Trim(host, "[]")
}

// result is what a run found: the figures for its report, and what failed.
type result struct {
	requests *requestsResult
	cycles   *cyclesResult
	app      *appResult // with -app, in either mode
	failures []string
}

// run runs the mode cfg asks for and writes its report to out. An error
// means the run could not be made; failures in the result, that it ran and
// found something wrong.
func run(ctx context.Context, cfg config, out io.Writer) (*result, error) {
	if cfg.app != "" {
		return runApp(ctx, cfg, out)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration+time.Minute) // setup and teardown included
	defer cancel()
	deadline := time.Now().Add(cfg.duration)

	st, err := openStore(ctx, cfg.store, cfg.mode == "cycles")
	if err != nil {
		return nil, err
	}
	b, err := start(cfg, st)
	if err != nil {
		return nil, err // start finished the store
	}
	defer b.close()

	res := &result{}
	switch cfg.mode {
	case "requests":
		res.requests, err = runRequests(ctx, b, deadline)
		if err == nil {
			res.failures = res.requests.failures()
			res.requests.report(out, cfg)
		}
		if _, ferr := b.finish(ctx); ferr != nil && err == nil {
			err = ferr
		}
	case "cycles":
		res.cycles, err = runCycles(ctx, b, deadline)
		if err == nil {
			res.failures = res.cycles.failures()
			res.cycles.report(out, cfg)
		}
	}
	return res, err
}

// startProfile starts a CPU profile of the whole process (the app, its
// store client and the load alike) into path, unless path is "". The
// returned func stops it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: -cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("zenkeyload: -cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
