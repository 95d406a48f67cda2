package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey/internal/syncbuf"
)

// envOf returns an env func, like os.Getenv, that reads vars.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// runningApp is the app started by startApp.
type runningApp struct {
	URL string
	out *syncbuf.Buffer
}

// startApp runs the app with vars, plus a loopback ADDR with a free port
// and an SQLite store in a new private directory unless vars set them, and
// stops it when the test ends, failing the test if it does not stop cleanly.
func startApp(t *testing.T, vars map[string]string) *runningApp {
	t.Helper()
	env := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"ZENKEY_STORE": "sqlite:" + filepath.Join(t.TempDir(), "data", "sessions.db"),
	}
	for k, v := range vars {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningApp{out: &syncbuf.Buffer{}}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, envOf(env), a.out, func(u string) { ready <- u }) }()

	select {
	case a.URL = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run: %v\noutput:\n%s", err, a.out)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the app did not start within 10 s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after the stop", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("the app did not stop within 15 s")
		}
	})
	return a
}

// newBrowser returns an HTTP client with a cookie jar that follows
// redirects, as a browser does.
func newBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}
