package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey/internal/syncbuf"
)

// TestRunningExample drives the real example app, built and started in a
// process of its own, in demo mode over an SQLite store: the browsers sign
// in through its simulated ZenKey's pages, and the store is read from
// outside the app, before and after each run.
func TestRunningExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the example app")
	}
	appURL, store := startExample(t)

	t.Run("requests", func(t *testing.T) {
		res, out := runArgs(t, "-app", appURL, "-mode", "requests", "-n", "200", "-c", "4",
			"-browsers", "3", "-store", store)
		a := res.app
		if len(res.failures) > 0 {
			t.Fatalf("failures: %v\n%s", res.failures, out)
		}
		if a.load.requests != 200 || a.load.errors != 0 || a.signOutFailed != 0 {
			t.Errorf("%d requests, %d errors, %d browsers not signed out; want 200, 0, 0\n%s",
				a.load.requests, a.load.errors, a.signOutFailed, out)
		}
		assertNothingLeft(t, a, out)
		if !strings.Contains(out, "no bare handler to compare with") ||
			strings.Contains(out, "middleware/bare throughput") {
			t.Errorf("the report should say there is no ratio, and give none:\n%s", out)
		}
	})

	t.Run("cycles", func(t *testing.T) {
		res, out := runArgs(t, "-app", appURL, "-mode", "cycles", "-n", "20", "-c", "4",
			"-store", store)
		a := res.app
		if len(res.failures) > 0 {
			t.Fatalf("failures: %v\n%s", res.failures, out)
		}
		if a.load.requests != 20 || a.load.errors != 0 {
			t.Errorf("%d cycles, %d errors; want 20, 0\n%s", a.load.requests, a.load.errors, out)
		}
		assertNothingLeft(t, a, out)
	})

	t.Run("cycles without a store", func(t *testing.T) {
		res, out := runArgs(t, "-app", appURL, "-mode", "cycles", "-n", "2", "-c", "1")
		if res.app.census != nil || !strings.Contains(out, "cannot be counted from outside") {
			t.Errorf("without -store, the report should say the store is not counted:\n%s", out)
		}
	})

	t.Run("a session left behind is counted", func(t *testing.T) {
		countLeft(t, appURL, store)
	})
}

// assertNothingLeft checks that the run's census saw no record it left.
func assertNothingLeft(t *testing.T, a *appResult, out string) {
	t.Helper()
	c := a.census
	switch {
	case c == nil:
		t.Errorf("no census of the store\n%s", out)
	case c.sessions != 0 || c.logins != 0:
		t.Errorf("left %d sessions and %d pending logins; want none\n%s", c.sessions, c.logins,
			out)
	case !strings.Contains(out, "  sessions        0\n"):
		t.Errorf("the report does not say no session is left:\n%s", out)
	}
}

// countLeft signs a browser in without signing it out, and checks that a
// census sees its session as left, and no longer once it is signed out:
// the check that runs rely on can fail.
func countLeft(t *testing.T, appURL, store string) {
	t.Helper()
	cfg, err := parseFlags([]string{"-app", appURL, "-store", store, "-c", "1"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := openReader(t.Context(), cfg.store)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.close()
	before, err := reader.keys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialApp(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()

	br := c.newBrowser()
	if err := c.login(t.Context(), br); err != nil {
		t.Fatal(err)
	}
	if n := newRecords(t, reader, before); n.sessions != 1 || n.logins != 0 {
		t.Errorf("signed in: census %+v, want 1 session and no pending login", *n)
	}
	if err := c.logout(t.Context(), br); err != nil {
		t.Fatal(err)
	}
	if n := newRecords(t, reader, before); n.left() != 0 {
		t.Errorf("signed out: census %+v, want nothing left", *n)
	}
}

// newRecords takes a census of the store against before.
func newRecords(t *testing.T, r storeReader, before map[string]bool) *census {
	t.Helper()
	c, err := takeCensus(t.Context(), r, before)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// appLine is the line where the example says where it serves.
var appLine = regexp.MustCompile(`(?m)^\s+app\s+(http://\S+)$`)

// startExample builds the example app and starts it in demo mode, on a
// port of its choosing, with an SQLite store in a private directory. It
// returns the app's URL and the -store that names its store. The app is
// stopped when the test ends, with an interrupt and, failing that, a kill.
func startExample(t *testing.T) (appURL, store string) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the example with")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "example")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin,
		"github.com/zenkey-go/zenkey/example")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}

	work := filepath.Join(dir, "work") // the example's working directory
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	store = "sqlite:" + filepath.Join(dir, "data", "s.db")
	ctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "ADDR=127.0.0.1:0",
		"ZENKEY_STORE=" + store}
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second // then a kill
	if err := cmd.Start(); err != nil {
		stop()
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})

	giveUp := time.After(20 * time.Second)
	for {
		if m := appLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], store
		}
		select {
		case <-done:
			t.Fatalf("the example stopped: %v\n%s", waitErr, out)
		case <-giveUp:
			t.Fatalf("the example did not start within 20 s:\n%s", out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
