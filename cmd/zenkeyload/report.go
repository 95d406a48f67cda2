package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// throughputTarget is DESIGN §7's: with Redis, the middleware keeps at
// least half the bare handler's throughput.
const throughputTarget = 0.5

// report writes the requests mode's table.
func (r *requestsResult) report(out io.Writer, cfg config) {
	handler := "fixed body"
	if cfg.subject {
		handler = "reads the subject"
	}
	fmt.Fprintf(out, "zenkeyload requests: store %v, %d connections, %d browsers signed in, "+
		"%d rounds, handler %s\n\n", cfg.store, cfg.conns, r.browsers, r.rounds, handler)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "handler\trequests\terrors\treq/s\tp50\tp99\t")
	for _, row := range []struct {
		name string
		p    *phase
	}{{"bare", &r.bare}, {"middleware", &r.mw}} {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.0f\t%s\t%s\t\n", row.name, row.p.requests, row.p.errors,
			row.p.throughput(), ms(row.p.percentile(0.5)), ms(row.p.percentile(0.99)))
	}
	w.Flush()

	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	ratio := 0.0
	if t := r.bare.throughput(); t > 0 {
		ratio = r.mw.throughput() / t
	}
	fmt.Fprintf(w, "middleware/bare throughput\t%.2f\t(target with Redis: at least %.2f)\n",
		ratio, throughputTarget)
	if n := float64(r.mw.requests); n > 0 {
		fmt.Fprintf(w, "store reads per request\t%.2f\t\n", float64(r.store.gets)/n)
		fmt.Fprintf(w, "store writes per request\t%.4f\t(%d updates, %d creates, %d deletes)\n",
			float64(r.store.updates+r.store.creates+r.store.deletes)/n,
			r.store.updates, r.store.creates, r.store.deletes)
	}
	w.Flush()
	if r.stopped {
		fmt.Fprintln(out, "\n-duration ended the run before -n requests")
	}
}

// report writes the cycles mode's table.
func (r *cyclesResult) report(out io.Writer, cfg config) {
	fmt.Fprintf(out, "zenkeyload cycles: store %v, %d browsers at a time; "+
		"a cycle is login, request, logout, request\n\n", cfg.store, cfg.conns)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "cycles\terrors\tcycles/s\tp50\tp99\t")
	fmt.Fprintf(w, "%d\t%d\t%.1f\t%s\t%s\t\n", r.cycles.requests, r.cycles.errors,
		r.cycles.throughput(), ms(r.cycles.percentile(0.5)), ms(r.cycles.percentile(0.99)))
	w.Flush()

	fmt.Fprintln(out, "\nleft in the store after the cycles")
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  sessions\t%d\t\n", r.sessions)
	fmt.Fprintf(w, "  pending logins\t%d\t\n", r.logins)
	fmt.Fprintf(w, "  records of any kind\t%d\t(counted in the store itself)\n", r.left.records)
	if r.left.redis {
		fmt.Fprintf(w, "  index sets\t%d\t(%d entries of deleted records, until they expire)\n",
			r.left.indexKeys, r.left.indexEntries)
	}
	fmt.Fprintf(w, "tokens revoked at the provider\t%d\t\n", r.revoked)
	w.Flush()
	if r.stopped {
		fmt.Fprintln(out, "\n-duration ended the run before -n cycles")
	}
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
