package pgstore

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// defaultSweepInterval is how often the sweeper runs unless told otherwise.
const defaultSweepInterval = 5 * time.Minute

// Sweep deletes the records that have ended, in batches of a few hundred
// rows, and reports how many it deleted. The sweeper calls it; with the
// sweeper off, call it from elsewhere (one instance is enough).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, s.sql.sweep, time.Now())
		if err != nil {
			return total, fmt.Errorf("zenkey/pgstore: sweep: %w", err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// Close stops the sweeper and waits for it. It does not close the pool,
// which the caller owns. It always returns nil: the store is an
// [io.Closer] like the other stores.
func (s *Store) Close() error {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return nil
}

// startSweeper starts a goroutine that sweeps every interval, unless the
// interval is negative.
func (s *Store) startSweeper(interval time.Duration) {
	if interval < 0 {
		return
	}
	if interval == 0 {
		interval = defaultSweepInterval
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, make(chan struct{})
	go s.sweepEvery(ctx, interval)
}

// sweepEvery sweeps every interval until ctx ends.
func (s *Store) sweepEvery(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil && s.logger != nil {
			s.logger.LogAttrs(ctx, slog.LevelWarn, "zenkey/pgstore: sweep failed",
				slog.String("table", s.table), slog.Any("error", err))
		}
	}
}
