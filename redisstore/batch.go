package redisstore

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxReadsOnWire is how many batches of reads may be on the wire at once.
// Two keep the server busy while a batch's answers are parsed; more would
// only make the batches smaller.
const maxReadsOnWire = 2

// A reader sends the reads that arrive while others are on the wire as one
// pipeline. A read that finds the wire free goes out at once, alone; under
// load, the reads queued behind a batch share the next round trip, and the
// server parses them in one go. On a loaded app this saves most of a
// round trip's system calls per request, which is most of what a session
// read in Redis costs.
type reader struct {
	client redis.UniversalClient
	wire   chan struct{} // one token per batch on the wire

	mu    sync.Mutex
	queue []*read
}

// A read is one HGET of a packed record waiting for its batch.
type read struct {
	key  string
	cmd  *redis.StringCmd
	done chan struct{} // closed when cmd has its answer
}

// newReader returns a reader that sends its batches through client.
func newReader(client redis.UniversalClient) *reader {
	return &reader{client: client, wire: make(chan struct{}, maxReadsOnWire)}
}

// get reads the packed record in the hash at key; see pack. A hash
// without one, or no hash, is redis.Nil. It returns when the answer came
// or ctx ended, whichever is first.
//
// The bytes are the reply's own buffer, read for this command alone:
// StringCmd.Bytes hands it over without a copy.
func (r *reader) get(ctx context.Context, key string) ([]byte, error) {
	rd := &read{key: key, done: make(chan struct{})}
	r.mu.Lock()
	r.queue = append(r.queue, rd)
	r.mu.Unlock()

	select {
	case <-rd.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case r.wire <- struct{}{}:
		// The wire is free: send whatever is queued. Then this read has
		// its answer, or is in a batch sent earlier.
		r.send(ctx)
		<-r.wire
		select {
		case <-rd.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return rd.cmd.Bytes()
}

// send takes the queue and sends it as one pipeline. The batch carries
// other callers' reads: it does not end with the ctx of the caller that
// happens to send it, only with the client's own read and write timeouts.
func (r *reader) send(ctx context.Context) {
	r.mu.Lock()
	batch := r.queue
	r.queue = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return
	}

	ctx = context.WithoutCancel(ctx)
	if len(batch) == 1 {
		batch[0].cmd = r.client.HGet(ctx, batch[0].key, packedField)
	} else {
		pipe := r.client.Pipeline()
		for _, rd := range batch {
			rd.cmd = pipe.HGet(ctx, rd.key, packedField)
		}
		pipe.Exec(ctx) // each command carries its own error
	}
	for _, rd := range batch {
		close(rd.done)
	}
}
