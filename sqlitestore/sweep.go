package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const (
	// sweepEvery is how often the sweeper runs.
	sweepEvery = time.Minute

	// sweepBatch is how many records one statement of a sweep deletes, at
	// most: a few milliseconds of holding the write connection, which
	// writers waiting for it get between statements.
	sweepBatch = 500
)

// Sweep deletes the records that have ended and reports how many it
// deleted. The sweeper calls it every minute; call it to reclaim space
// sooner. Reads go on meanwhile.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := affected(s.stmts.sweep.ExecContext(ctx,
			sql.Named("now", now()), sql.Named("limit", sweepBatch)))
		total += int(n)
		if err != nil {
			return total, fmt.Errorf("zenkey/sqlitestore: sweep: %w", err)
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}

func (s *Store) sweepEvery(ctx context.Context, d time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// A sweep that fails is tried again at the next tick. Until
			// then Get and Update ignore the ended records all the same.
			s.Sweep(ctx)
		}
	}
}
