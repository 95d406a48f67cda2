package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

const (
	// contenders is how many callers race for one key or one lease.
	contenders = 50

	// rounds is how many times testDeleteDuringUpdates deletes a record
	// while writers update it; shortRounds with -short.
	rounds      = 2000
	shortRounds = 200

	// roundWriters is how many writers update the record in each round, and
	// parallelRounds how many rounds run at once.
	roundWriters   = 3
	parallelRounds = 8
)

func testCreateConcurrent(t *testing.T, s zenkey.Store) {
	key := randomHex()
	records := make([]*zenkey.Record, contenders)
	for i := range records {
		records[i] = newRecord()
		records[i].Key = key
	}
	errs := race(func(i int) error { return s.Create(t.Context(), records[i]) })
	w := onlyWinner(t, "concurrent Create of one key", errs)
	wantStored(t, s, records[w])
}

// testLease has many callers read the same version of a record and try to
// take its lease: exactly one may.
func testLease(t *testing.T, s zenkey.Store) {
	r := newRecord()
	mustCreate(t, s, r)
	read := mustGet(t, s, r.Key)

	// Each caller asks for a different LeaseUntil, so that the stored one
	// tells who won.
	writes := make([]*zenkey.Record, contenders)
	for i := range writes {
		writes[i] = clone(read)
		writes[i].LeaseUntil = time.Now().Add(30*time.Second + time.Duration(i)*10*time.Millisecond)
	}
	errs := race(func(i int) error { return s.Update(t.Context(), writes[i]) })
	w := onlyWinner(t, "concurrent Update of one version", errs)
	if writes[w].Version != read.Version+1 {
		t.Errorf("Update set Version %d, want %d", writes[w].Version, read.Version+1)
	}
	wantStored(t, s, writes[w])
}

// race calls f with 0 to contenders-1 on as many goroutines, released at
// once, and returns their errors.
func race(f func(i int) error) []error {
	errs := make([]error, contenders)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// onlyWinner returns the index of the one nil error in errs, and fails the
// test unless there is exactly one and all others are ErrConflict.
func onlyWinner(t *testing.T, what string, errs []error) int {
	t.Helper()
	w, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			w, wins = i, wins+1
		case !errors.Is(err, zenkey.ErrConflict):
			t.Errorf("%s: %v, want nil or ErrConflict", what, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%s: %d of %d callers succeeded, want exactly 1", what, wins, len(errs))
	}
	return w
}

// testDeleteDuringUpdates deletes records while writers keep updating
// them, and checks that none comes back: not right after Delete returned,
// not once the writers have finished, and not at the end of the test.
func testDeleteDuringUpdates(t *testing.T, s zenkey.Store) {
	n := rounds
	if testing.Short() {
		n = shortRounds
	}
	keys := make([]string, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range parallelRounds {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				keys[i], errs[i] = deleteDuringUpdates(t.Context(), s)
			}
		})
	}
	wg.Wait()

	failed := 0
	for i, err := range errs {
		if err != nil && failed == 0 {
			t.Errorf("round %d: %v", i, err)
		}
		if err != nil {
			failed++
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d rounds failed", failed, n)
	}
	for _, key := range keys {
		if err := getErr(t.Context(), s, key); err != nil {
			t.Fatalf("at the end of the test: %v", err)
		}
	}
}

// deleteDuringUpdates runs one round: it creates a record, starts writers
// that read and update it until it is gone, and deletes it once the first
// writer has tried an Update. It returns the record's key and what went
// wrong, if anything.
func deleteDuringUpdates(ctx context.Context, s zenkey.Store) (string, error) {
	r := newRecord()
	if err := s.Create(ctx, r); err != nil {
		return r.Key, fmt.Errorf("Create: %w", err)
	}

	// A failed Delete cancels ctx, as the writers would wait for it forever.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		deleted atomic.Bool
		tried   = make(chan struct{})
		once    sync.Once
		wg      sync.WaitGroup
		writers = make([]error, roundWriters)
		errs    []error
	)
	signal := func() { once.Do(func() { close(tried) }) }
	for i := range writers {
		wg.Go(func() {
			defer signal()
			writers[i] = keepUpdating(ctx, s, r.Key, &deleted, signal)
		})
	}

	<-tried
	if err := s.Delete(ctx, r.Key); err != nil {
		cancel()
		errs = append(errs, fmt.Errorf("Delete: %w", err))
	} else {
		deleted.Store(true)
		errs = append(errs, wrapNonNil("right after Delete", getErr(ctx, s, r.Key)))
	}
	wg.Wait()
	errs = append(errs, wrapNonNil("once the writers finished", getErr(ctx, s, r.Key)))
	return r.Key, errors.Join(append(writers, errs...)...)
}

// keepUpdating reads the record with key and updates it, over and over,
// until it is gone. Any Get or Update that succeeds although it began after
// Delete returned is an error, and so is any error but ErrNotFound from Get
// and ErrConflict from Update. tried is called after every Update.
func keepUpdating(ctx context.Context, s zenkey.Store, key string, deleted *atomic.Bool,
	tried func()) error {
	for ctx.Err() == nil {
		after := deleted.Load()
		r, err := s.Get(ctx, key)
		switch {
		case errors.Is(err, zenkey.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("writer: Get: %w", err)
		case after:
			return fmt.Errorf("writer: Get after Delete returned version %d", r.Version)
		}

		r.LastSeen = time.Now()
		r.Blob = append([]byte{r.Blob[0] + 1}, r.Blob[1:]...) // replaced, never changed in place
		after = deleted.Load()
		err = s.Update(ctx, r)
		tried()
		switch {
		case err == nil && after:
			return fmt.Errorf("writer: Update after Delete brought the record back as version %d",
				r.Version)
		case err != nil && !errors.Is(err, zenkey.ErrConflict):
			return fmt.Errorf("writer: Update: %w", err)
		}

		// Against a store in memory, writers that never wait would keep the
		// goroutine that deletes from running for a whole time slice.
		runtime.Gosched()
	}
	return ctx.Err()
}

func wrapNonNil(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
