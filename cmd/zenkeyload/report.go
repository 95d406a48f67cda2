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
	requestsTable(out, namedPhase{"bare", &r.bare}, namedPhase{"middleware", &r.mw})

	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
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
	cyclesTable(out, &r.cycles)

	fmt.Fprintln(out, "\nleft in the store after the cycles")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
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

// A namedPhase is a row of the requests table.
type namedPhase struct {
	name string
	p    *phase
}

// requestsTable writes the requests sent to each handler: how many, the
// errors, the throughput and the latencies.
func requestsTable(out io.Writer, rows ...namedPhase) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "handler\trequests\terrors\treq/s\tp50\tp99\t")
	for _, row := range rows {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.0f\t%s\t%s\t\n", row.name, row.p.requests, row.p.errors,
			row.p.throughput(), ms(row.p.percentile(0.5)), ms(row.p.percentile(0.99)))
	}
	w.Flush()
}

// cyclesTable writes the cycles run: how many, the errors, the throughput
// and the latencies of a whole cycle.
func cyclesTable(out io.Writer, p *phase) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "cycles\terrors\tcycles/s\tp50\tp99\t")
	fmt.Fprintf(w, "%d\t%d\t%.1f\t%s\t%s\t\n", p.requests, p.errors, p.throughput(),
		ms(p.percentile(0.5)), ms(p.percentile(0.99)))
	w.Flush()
}

// report writes the report of a run against a running app: the load's
// table, then what the run left in the app's store.
func (r *appResult) report(out io.Writer, cfg config) {
	switch cfg.mode {
	case "requests":
		fmt.Fprintf(out, "zenkeyload requests: the app at %s, %d connections, "+
			"%d browsers signed in\nthrough its pages\n\n", cfg.app, cfg.conns, r.browsers)
		requestsTable(out, namedPhase{"app", &r.load})
		fmt.Fprintln(out, "\nno bare handler to compare with: the app runs in its own process, "+
			"so no\nmiddleware/bare ratio, and its store calls are not counted")
		if r.signOutFailed > 0 {
			fmt.Fprintf(out, "%d browsers could not be signed out\n", r.signOutFailed)
		}
	case "cycles":
		fmt.Fprintf(out, "zenkeyload cycles: the app at %s, %d browsers at a time; a cycle is "+
			"login\n(carrier picker, PIN), request, logout, request\n\n", cfg.app, cfg.conns)
		cyclesTable(out, &r.load)
	}
	r.reportStore(out, cfg)
	if r.stopped {
		fmt.Fprintf(out, "\n-duration ended the run before -n %s\n", cfg.mode)
	}
}

// reportStore writes what the run left in the app's store, or why that
// cannot be known.
func (r *appResult) reportStore(out io.Writer, cfg config) {
	c := r.census
	if c == nil {
		fmt.Fprintln(out, "\nthe app's store cannot be counted from outside its process: "+
			"with no -store,\nor memory, nothing is checked; name the app's ZENKEY_STORE "+
			"with -store")
		return
	}
	fmt.Fprintln(out, "\nleft in the store by the run (records that were not there before it)")
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  sessions\t%d\n", c.sessions)
	fmt.Fprintf(w, "  pending logins\t%d\n", c.logins)
	w.Flush()
	fmt.Fprintf(out, "store %v: %d records, %d before the run\n", cfg.store, c.after, c.before)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
