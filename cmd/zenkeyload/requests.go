package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// requestsResult is what the requests mode measured.
type requestsResult struct {
	browsers int
	rounds   int
	bare, mw phase
	store    counters // the store calls made by the measured middleware requests
	stopped  bool     // -duration ended the run before -n
}

// A phase is the requests sent to one handler, in all rounds.
type phase struct {
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
	samples   map[string]int // error messages, counted
}

func (p *phase) add(q phase) {
	p.requests += q.requests
	p.errors += q.errors
	p.elapsed += q.elapsed
	p.latencies = append(p.latencies, q.latencies...)
	for msg, n := range q.samples {
		if p.samples == nil {
			p.samples = map[string]int{}
		}
		p.samples[msg] += n
	}
}

// fail counts a failed request and its error's message.
func (p *phase) fail(err error) {
	p.errors++
	if p.samples == nil {
		p.samples = map[string]int{}
	}
	p.samples[err.Error()]++
}

// throughput is the successful requests per second.
func (p *phase) throughput() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.requests-p.errors) / p.elapsed.Seconds()
}

// percentile returns the latency below which a fraction q of requests
// finished.
func (p *phase) percentile(q float64) time.Duration {
	if len(p.latencies) == 0 {
		return 0
	}
	if !slices.IsSorted(p.latencies) {
		slices.Sort(p.latencies)
	}
	return p.latencies[min(len(p.latencies)-1, int(float64(len(p.latencies))*q))]
}

// runRequests signs the browsers in and sends the signed-in requests, to
// the app and to the bare handler in turn.
func runRequests(ctx context.Context, b *bench, deadline time.Time) (*requestsResult, error) {
	cfg := b.cfg
	res := &requestsResult{browsers: cfg.browsers}
	_, cookies, err := signIn(ctx, b.client, cfg.browsers)
	if err != nil {
		return nil, err
	}
	app := loadTarget{b.app.addr, requestsFor(b.app.url, cookies)}
	bare := loadTarget{b.bare.addr, requestsFor(b.bare.url, cookies)}

	// Warm up both (connections, caches, the collector's pacing), unmeasured.
	bare.drive(ctx, cfg.conns, warmUp(cfg.n), deadline)
	app.drive(ctx, cfg.conns, warmUp(cfg.n), deadline)

	// Rounds of a few hundred requests per connection, alternating which
	// handler goes first.
	res.rounds = max(1, min(10, cfg.n/(cfg.conns*200)))
	for r := range res.rounds {
		n := cfg.n / res.rounds
		if r == res.rounds-1 {
			n = cfg.n - n*(res.rounds-1)
		}
		appPhase := func() {
			before := b.store.counters()
			res.mw.add(app.drive(ctx, cfg.conns, n, deadline))
			res.store = addCounters(res.store, b.store.counters().sub(before))
		}
		barePhase := func() { res.bare.add(bare.drive(ctx, cfg.conns, n, deadline)) }
		if r%2 == 0 {
			barePhase()
			appPhase()
		} else {
			appPhase()
			barePhase()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.stopped = r < res.rounds-1 || res.mw.requests < cfg.n || res.bare.requests < cfg.n
			res.rounds = r + 1
			break
		}
	}
	return res, nil
}

// signIn signs n browsers in, and returns them with the Cookie header
// each sends to the app. On an error, it returns the browsers it tried to
// sign in, the last one perhaps halfway, which the caller may sign out.
func signIn(ctx context.Context, c *client, n int) ([]*browser, []string, error) {
	var browsers []*browser
	var cookies []string
	for i := range n {
		br := c.newBrowser()
		if err := c.login(ctx, br); err != nil {
			return append(browsers, br), nil, fmt.Errorf("zenkeyload: signing browser %d in: %w",
				i+1, err)
		}
		browsers = append(browsers, br)
		cookies = append(cookies, c.cookieHeader(br))
	}
	return browsers, cookies, nil
}

// warmUp is how many unmeasured requests open the connections and warm
// the caches before n measured ones.
func warmUp(n int) int { return min(n/10, 2_000) }

func addCounters(a, b counters) counters {
	return counters{a.gets + b.gets, a.creates + b.creates, a.updates + b.updates,
		a.deletes + b.deletes}
}

// requestsFor builds one GET /profile per browser, as raw HTTP/1.1 with
// its cookies.
func requestsFor(base string, cookies []string) [][]byte {
	u, _ := url.Parse(base)
	reqs := make([][]byte, len(cookies))
	for i, c := range cookies {
		reqs[i] = fmt.Appendf(nil,
			"GET /profile HTTP/1.1\r\nHost: %s\r\nUser-Agent: zenkeyload\r\n"+
				"Accept: application/json\r\nCookie: %s\r\n\r\n", u.Host, c)
	}
	return reqs
}

// A loadTarget is a server and the requests to send it, one per browser.
type loadTarget struct {
	addr string
	reqs [][]byte
}

// drive sends n requests over conns keep-alive connections, each
// connection sending one browser's request, and stops early at deadline.
// It is wrk's way: raw requests written whole and answers parsed just
// enough, so that the load costs the machine far less than the server.
func (t loadTarget) drive(ctx context.Context, conns, n int, deadline time.Time) phase {
	var left atomic.Int64
	left.Store(int64(n))
	phases := make([]phase, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range conns {
		wg.Go(func() {
			phases[i] = t.connection(ctx, t.reqs[i%len(t.reqs)], &left, deadline, n/conns+1)
		})
	}
	wg.Wait()
	var p phase
	for _, q := range phases {
		p.add(q)
	}
	p.elapsed = time.Since(start)
	return p
}

// connection sends req until left runs out, reconnecting after an error.
func (t loadTarget) connection(ctx context.Context, req []byte, left *atomic.Int64,
	deadline time.Time, expect int) phase {
	p := phase{latencies: make([]time.Duration, 0, expect)}
	var d net.Dialer
	var conn net.Conn
	var rd *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for left.Add(-1) >= 0 && ctx.Err() == nil && time.Now().Before(deadline) {
		p.requests++
		if conn == nil {
			var err error
			if conn, err = d.DialContext(ctx, "tcp", t.addr); err != nil {
				p.fail(err)
				continue
			}
			rd = bufio.NewReader(conn)
		}
		began := time.Now()
		status, keep, err := roundTrip(conn, rd, req)
		p.latencies = append(p.latencies, time.Since(began))
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		if err != nil {
			p.fail(err)
		}
		if !keep {
			conn.Close()
			conn = nil
		}
	}
	return p
}

// roundTrip writes req and reads the answer, reporting its status and
// whether the connection can carry the next request.
func roundTrip(conn net.Conn, rd *bufio.Reader, req []byte) (status int, keep bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err == nil && !resp.Close, err
}

// failures lists what makes the run fail: errors.
func (r *requestsResult) failures() []string {
	var f []string
	for _, p := range []struct {
		name string
		ph   *phase
	}{{"bare handler", &r.bare}, {"middleware", &r.mw}} {
		if p.ph.errors > 0 {
			f = append(f, fmt.Sprintf("%d errors from the %s (%s)", p.ph.errors, p.name,
				topSamples(p.ph.samples)))
		}
	}
	return f
}

// topSamples names the commonest error messages.
func topSamples(samples map[string]int) string {
	msgs := make([]string, 0, len(samples))
	for m := range samples {
		msgs = append(msgs, m)
	}
	sort.Slice(msgs, func(i, j int) bool { return samples[msgs[i]] > samples[msgs[j]] })
	out := ""
	for i, m := range msgs[:min(3, len(msgs))] {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%dx %s", samples[m], m)
	}
	return out
}
