package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/zenkey-go/zenkey"
)

// The two indexes: their name in the Redis key and the hash field they list.
type index struct{ name, field string }

var (
	bySubject = index{"subject", "s"}
	bySID     = index{"sid", "d"}
)

// DeleteSubject removes every record whose Subject equals subject and reports
// how many live ones it removed. Records without a subject are not indexed:
// an empty subject removes nothing.
func (s *Store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	return s.deleteListed(ctx, bySubject, subject)
}

// DeleteSID removes every record whose SID equals sid and reports how many
// live ones it removed. An empty sid removes nothing.
func (s *Store) DeleteSID(ctx context.Context, sid string) (int, error) {
	return s.deleteListed(ctx, bySID, sid)
}

// indexKey returns the Redis key of the index ix for value.
func (s *Store) indexKey(ix index, value string) string {
	return s.prefix + ":" + ix.name + ":{" + value + "}"
}

// list lists r under its subject and its sid, in one round trip.
func (s *Store) list(ctx context.Context, r *zenkey.Record, now time.Time) error {
	end := r.Expires().Add(time.Millisecond - 1).UnixMilli()
	var calls []call
	for _, e := range [...]struct {
		ix    index
		value string
	}{{bySubject, r.Subject}, {bySID, r.SID}} {
		if e.value != "" {
			args := []any{r.Key, end, now.UnixMilli()}
			calls = append(calls, call{indexScript, s.indexKey(e.ix, e.value), args})
		}
	}
	for _, cmd := range s.evalAll(ctx, calls) {
		if err := cmd.Err(); err != nil {
			return fmt.Errorf("zenkey/redisstore: index: %w", err)
		}
	}
	return nil
}

// unlist drops key from the indexes of the subject and the sid it was
// listed under, given in that order, in one round trip. An entry it fails
// to drop is stale: it goes with the next write to its index, or with the
// index.
func (s *Store) unlist(ctx context.Context, key string, values []any) {
	var indexes []string
	for i, ix := range [...]index{bySubject, bySID} {
		if v, ok := values[i].(string); ok && v != "" {
			indexes = append(indexes, s.indexKey(ix, v))
		}
	}
	s.pipeline(ctx, len(indexes), func(p redis.Pipeliner, i int) {
		p.ZRem(ctx, indexes[i], key)
	})
}

// deleteListed deletes the records listed under value that still carry it,
// and drops the entries it found stale. The records are deleted in one round
// trip, each by its own script in its own hash slot.
func (s *Store) deleteListed(ctx context.Context, ix index, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	key := s.indexKey(ix, value)
	members, err := s.client.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("zenkey/redisstore: delete by %s: %w", ix.name, err)
	}

	now := time.Now().UnixMilli()
	calls := make([]call, len(members))
	for i, m := range members {
		calls[i] = call{deleteIfScript, s.recordKey(m), []any{ix.field, value, now}}
	}
	n, done, err := tally(s.evalAll(ctx, calls), members)

	// Entries left behind are stale and harmless: no need to fail for them.
	if len(done) > 0 {
		s.client.ZRem(ctx, key, done...)
	}
	if err != nil {
		return n, fmt.Errorf("zenkey/redisstore: delete by %s: %w", ix.name, err)
	}
	return n, nil
}

// tally reads the answers of deleteIfScript: how many live records it
// deleted, and the entries that no longer name a record. It returns the
// first error too, after counting what was confirmed.
func tally(cmds []*redis.Cmd, members []string) (int, []any, error) {
	var (
		n     int
		done  []any
		first error
	)
	for i, cmd := range cmds {
		found, err := cmd.Int64()
		switch {
		case err != nil:
			if first == nil {
				first = err
			}
		case found == foundLive:
			n++
			done = append(done, members[i])
		case found == foundEnded || found == foundGone:
			done = append(done, members[i])
		}
	}
	return n, done, first
}

// A call is one run of a script on one key.
type call struct {
	script *redis.Script
	key    string
	args   []any
}

// evalAll runs the calls in one round trip, by digest. It runs again, by
// source, those a server did not have the script for (it was restarted or
// its script cache flushed). Each command carries its own error.
func (s *Store) evalAll(ctx context.Context, calls []call) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	s.pipeline(ctx, len(calls), func(p redis.Pipeliner, i int) {
		c := calls[i]
		cmds[i] = c.script.EvalSha(ctx, p, []string{c.key}, c.args...)
	})

	var retry []int
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	s.pipeline(ctx, len(retry), func(p redis.Pipeliner, j int) {
		c := calls[retry[j]]
		cmds[retry[j]] = c.script.Eval(ctx, p, []string{c.key}, c.args...)
	})
	return cmds
}

// pipeline sends n commands, queued by queue, in one round trip. It sends
// nothing when n is zero.
func (s *Store) pipeline(ctx context.Context, n int, queue func(redis.Pipeliner, int)) {
	if n == 0 {
		return
	}
	// The errors are read from each command.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			queue(p, i)
		}
		return nil
	})
}
