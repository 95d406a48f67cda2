package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRequests runs the requests mode briefly against the memory store:
// every request answered, one store read each and no write.
func TestRequests(t *testing.T) {
	res, out := runArgs(t, "-mode", "requests", "-n", "200", "-c", "4", "-browsers", "2")
	r := res.requests
	if len(res.failures) > 0 {
		t.Fatalf("failures: %v\n%s", res.failures, out)
	}
	for name, p := range map[string]*phase{"bare": &r.bare, "middleware": &r.mw} {
		if p.requests != 200 || p.errors != 0 {
			t.Errorf("%s: %d requests, %d errors; want 200, 0\n%s", name, p.requests, p.errors, out)
		}
	}
	if r.store.gets != 200 || r.store.updates+r.store.creates+r.store.deletes != 0 {
		t.Errorf("store calls for 200 requests: %+v; want 200 reads and no write", r.store)
	}
	for _, want := range []string{"bare", "middleware", "middleware/bare throughput",
		"store reads per request     1.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// TestCycles runs the cycles mode briefly: no error, nothing left, and the
// report says so.
func TestCycles(t *testing.T) {
	stores := map[string]string{
		"memory": "memory",
		"sqlite": "sqlite:" + filepath.Join(t.TempDir(), "private", "zenkey.db"),
	}
	if addr := os.Getenv("ZENKEY_TEST_REDIS_ADDR"); addr != "" {
		stores["redis"] = "redis://" + addr
	}
	if url := os.Getenv("ZENKEY_TEST_POSTGRES_URL"); url != "" {
		stores["postgres"] = url
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			n := 200
			if name != "memory" {
				n = 40 // a persistent store syncs every login and logout
			}
			res, out := runArgs(t, "-mode", "cycles", "-n", strconv.Itoa(n), "-c", "4", "-store",
				store)
			c := res.cycles
			if len(res.failures) > 0 {
				t.Fatalf("failures: %v\n%s", res.failures, out)
			}
			if c.cycles.requests != n || c.cycles.errors != 0 {
				t.Errorf("%d cycles, %d errors; want %d, 0\n%s", c.cycles.requests, c.cycles.errors,
					n, out)
			}
			if c.sessions+c.logins+c.left.records != 0 {
				t.Errorf("left %d sessions, %d logins, %d records; want none\n%s",
					c.sessions, c.logins, c.left.records, out)
			}
			if c.revoked != 2*n {
				t.Errorf("%d tokens revoked, want %d (an access and a refresh token a cycle)",
					c.revoked, 2*n)
			}
			if !strings.Contains(out, "records of any kind           0") {
				t.Errorf("the report does not say no record is left:\n%s", out)
			}
		})
	}
}

// TestCyclesNeedAnEmptyStore refuses an SQLite file that already holds
// records: what is left could not be told apart from them.
func TestCyclesNeedAnEmptyStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private", "zenkey.db")
	cfg, err := parseFlags([]string{"-mode", "requests", "-n", "10", "-c", "1", "-browsers", "1",
		"-store", "sqlite:" + path}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(t.Context(), cfg, &bytes.Buffer{}); err != nil { // leaves a session
		t.Fatal(err)
	}
	cfg.mode, cfg.n = "cycles", 10
	_, err = run(t.Context(), cfg, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "needs an empty store") {
		t.Fatalf("cycles on a store with records: %v, want a refusal", err)
	}
}

func TestFlagsRefuse(t *testing.T) {
	for _, args := range [][]string{
		{"-host", "example.com"},
		{"-host", "10.0.0.1"},
		{"-host", "0.0.0.0"},
		{"-store", "redis://10.1.2.3:6379"},
		{"-store", "postgres://app@db.internal/app"},
		{"-store", "postgres://app@127.0.0.1,db.internal/app"},
		{"-store", "mysql://127.0.0.1"},
		{"-n", "1000001"},
		{"-mode", "cycles", "-n", "100001"},
		{"-c", "0"},
		{"-c", "257"},
		{"-duration", "11m"},
		{"-mode", "soak"},
		{"-app", "http://example.com:8080"},
		{"-app", "http://10.0.0.1:8080"},
		{"-app", "http://0.0.0.0:8080"},
		{"-app", "http://[::]:8080"},
		{"-app", "http://localhost.example.com:8080"},
		{"-app", "https://localhost:8443"},
		{"-app", "localhost:8080"},
		{"-app", "http://localhost:8080/profile"},
		{"-app", "http://user@localhost:8080"},
		{"-app", "http://localhost:8080", "-subject"},
		{"-app", "http://localhost:8080", "-host", "127.0.0.1"},
		{"-app", "http://localhost:8080", "-store", "redis://10.1.2.3:6379"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted it", args)
		}
	}
	for _, args := range [][]string{
		{"-host", "127.0.0.2"},
		{"-host", "::1"},
		{"-store", "redis://localhost:6379/2"},
		{"-store", "postgres://postgres@[::1]:5432/test"},
		{"-store", "sqlite:zenkey.db"},
		{"-app", "http://localhost:8080"},
		{"-app", "http://127.0.0.1:8080/", "-mode", "cycles", "-store", "sqlite:s.db"},
		{"-app", "http://[::1]:8080"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err != nil {
			t.Errorf("parseFlags(%q): %v", args, err)
		}
	}
}

// runArgs runs the tool with args, bounded to half a minute, and returns
// its result and report.
func runArgs(t *testing.T, args ...string) (*result, string) {
	t.Helper()
	var out bytes.Buffer
	cfg, err := parseFlags(append(args, "-duration", (30*time.Second).String()), &out)
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(t.Context(), cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return res, out.String()
}
