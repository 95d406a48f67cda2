package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// cyclesResult is what the cycles mode measured and found left behind.
type cyclesResult struct {
	cycles   phase
	revoked  int
	stopped  bool // -duration ended the run before -n
	sessions int  // sessions the cycles created that the store still returns
	logins   int  // the same for pending logins
	left     storeCount
}

// runCycles runs the login and logout cycles, then finishes the store and
// counts what is left in it.
func runCycles(ctx context.Context, b *bench, deadline time.Time) (*cyclesResult, error) {
	res := &cyclesResult{}
	b.store.tracking.Store(true)
	res.cycles = driveCycles(ctx, b.client, b.cfg, deadline)
	res.stopped = res.cycles.requests < b.cfg.n

	// Logouts revoke in the background: wait, then look.
	b.zk.WaitRevocations()
	res.revoked = b.idp.RevokedCount()
	var err error
	res.sessions, res.logins, err = b.store.live(ctx)
	if err != nil {
		return nil, fmt.Errorf("zenkeyload: reading back the records the cycles created: %w", err)
	}
	if res.left, err = b.finish(ctx); err != nil {
		return nil, fmt.Errorf("zenkeyload: counting what is left in the store: %w", err)
	}
	return res, nil
}

// driveCycles runs cfg.n cycles against the app c drives, cfg.conns at a
// time, and stops early at deadline.
func driveCycles(ctx context.Context, c *client, cfg config, deadline time.Time) phase {
	var left atomic.Int64
	left.Store(int64(cfg.n))
	phases := make([]phase, cfg.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.conns {
		wg.Go(func() {
			p := &phases[i]
			for left.Add(-1) >= 0 && ctx.Err() == nil && time.Now().Before(deadline) {
				p.requests++
				began := time.Now()
				err := c.cycle(ctx)
				p.latencies = append(p.latencies, time.Since(began))
				if err != nil {
					p.fail(err)
				}
			}
		})
	}
	wg.Wait()
	var all phase
	for _, p := range phases {
		all.add(p)
	}
	all.elapsed = time.Since(start)
	return all
}

// cycle signs a new browser in, makes a signed-in request, signs it out
// and checks it is signed out.
func (c *client) cycle(ctx context.Context) error {
	br := c.newBrowser()
	if err := c.login(ctx, br); err != nil {
		return err
	}
	if status, err := c.profile(ctx, br); err != nil || status != http.StatusOK {
		return firstErr(err, &errStatus{"signed-in request", status, "/profile"})
	}
	if err := c.logout(ctx, br); err != nil {
		return err
	}
	if status, err := c.profile(ctx, br); err != nil || status != http.StatusUnauthorized {
		return firstErr(err, &errStatus{"request after logout", status, "/profile"})
	}
	return nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// failures lists what makes the run fail: errors, and anything left.
func (r *cyclesResult) failures() []string {
	var f []string
	if r.cycles.errors > 0 {
		f = append(f, fmt.Sprintf("%d cycles failed (%s)", r.cycles.errors,
			topSamples(r.cycles.samples)))
	}
	if r.sessions > 0 {
		f = append(f, fmt.Sprintf("%d sessions left after logout", r.sessions))
	}
	if r.logins > 0 {
		f = append(f, fmt.Sprintf("%d pending logins left after login", r.logins))
	}
	if r.left.records > 0 {
		f = append(f, fmt.Sprintf("%d records left in the store", r.left.records))
	}
	return f
}
