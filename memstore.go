package zenkey

import (
	"bytes"
	"context"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// memShards is how many parts a MemoryStore splits its writers and
	// indexes into, each with its own lock, so that logins and logouts on
	// different cores seldom wait for each other.
	memShards = 256

	// memSweepEvery is how often the background sweeper runs.
	memSweepEvery = 30 * time.Second
)

// MemoryStore is a Store that keeps records in this process's memory. It
// suits an app that runs as a single instance, and tests: its sessions are
// not shared with other instances and end when the process does.
//
// A Get takes no lock: records sit in a concurrent map and are never
// changed once stored (an Update stores a new one), so a request's read
// never waits for a writer or for the sweeper. Writes to keys that fall in
// the same one of 256 shards take turns, as do the indexes by Subject and
// SID that each shard keeps. Times are kept at millisecond precision. Get
// and Update treat ended records as gone at once, and a background sweeper
// removes them from memory every 30 seconds. Close stops it.
//
// Its methods ignore their contexts: none of them waits for anything but a
// shard's lock.
type MemoryStore struct {
	records sync.Map // key → *memEntry
	seed    maphash.Seed
	shards  [memShards]memShard
	stop    chan struct{}
	done    chan struct{}
	closed  sync.Once
}

// NewMemoryStore returns an empty MemoryStore and starts its sweeper.
func NewMemoryStore() *MemoryStore {
	m := &MemoryStore{
		seed: maphash.MakeSeed(),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := range m.shards {
		m.shards[i].subjects = keySets{}
		m.shards[i].sids = keySets{}
	}
	go m.sweepEvery(memSweepEvery)
	return m
}

// Close stops the sweeper. The store stays usable, but ended records stay
// in memory until Sweep is called. Close always returns nil.
func (m *MemoryStore) Close() error {
	m.closed.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

// Len reports how many records the store holds, ended ones that were not
// swept yet included.
func (m *MemoryStore) Len() int {
	n := 0
	m.records.Range(func(_, _ any) bool {
		n++
		return true
	})
	return n
}

// Create inserts r with Version 1, or returns ErrConflict if its key is
// taken.
func (m *MemoryStore) Create(_ context.Context, r *Record) error {
	e := newMemEntry(r)
	e.key, e.subject, e.sid = strings.Clone(e.key), strings.Clone(e.subject), strings.Clone(e.sid)
	e.version = 1

	s := m.shard(r.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := m.records.Load(e.key); taken {
		return ErrConflict
	}
	m.records.Store(e.key, e)
	s.index(e)
	r.Version = 1
	return nil
}

// Get returns a copy of the live record with the key, or ErrNotFound.
func (m *MemoryStore) Get(_ context.Context, key string) (*Record, error) {
	v, ok := m.records.Load(key)
	if !ok {
		return nil, ErrNotFound
	}
	e := v.(*memEntry)
	if !e.live(time.Now().UnixMilli()) {
		return nil, ErrNotFound
	}
	return e.record(), nil
}

// Update replaces the live record with r's key if its version is
// r.Version, and sets r.Version to the next one. Otherwise it returns
// ErrConflict.
func (m *MemoryStore) Update(_ context.Context, r *Record) error {
	next := newMemEntry(r)
	now := time.Now().UnixMilli()

	s := m.shard(r.Key)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := m.records.Load(r.Key)
	if !ok {
		return ErrConflict
	}
	e := v.(*memEntry)
	if e.version != r.Version || !e.live(now) {
		return ErrConflict
	}
	next.key = e.key
	next.subject = s.subjects.move(e.key, e.subject, next.subject)
	next.sid = s.sids.move(e.key, e.sid, next.sid)
	next.version = e.version + 1
	m.records.Store(e.key, next)
	r.Version = next.version
	return nil
}

// Delete removes the record with the key, if there is one.
func (m *MemoryStore) Delete(_ context.Context, key string) error {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.remove(s, key)
	return nil
}

// DeleteSubject removes every record whose Subject is subject, and reports
// how many live ones it removed. An empty subject removes nothing.
func (m *MemoryStore) DeleteSubject(_ context.Context, subject string) (int, error) {
	return m.deleteIndexed(subject, func(s *memShard) keySets { return s.subjects }), nil
}

// DeleteSID removes every record whose SID is sid, and reports how many
// live ones it removed. An empty sid removes nothing.
func (m *MemoryStore) DeleteSID(_ context.Context, sid string) (int, error) {
	return m.deleteIndexed(sid, func(s *memShard) keySets { return s.sids }), nil
}

// deleteIndexed removes the records filed under v in the index that sets
// picks, one shard at a time.
func (m *MemoryStore) deleteIndexed(v string, sets func(*memShard) keySets) int {
	if v == "" {
		return 0
	}
	now := time.Now().UnixMilli()
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for _, key := range slices.Clone(sets(s)[v]) {
			if e := m.remove(s, key); e != nil && e.live(now) {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// remove takes the record with the key out of the map and of s's indexes,
// and returns it, or nil if there was none. The caller holds s's lock.
func (m *MemoryStore) remove(s *memShard, key string) *memEntry {
	v, ok := m.records.LoadAndDelete(key)
	if !ok {
		return nil
	}
	e := v.(*memEntry)
	s.subjects.remove(e.subject, e.key)
	s.sids.remove(e.sid, e.key)
	return e
}

// Sweep removes the records that have ended and reports how many it
// removed. The sweeper calls it every 30 seconds; call it to free memory
// sooner, or after Close. Gets go on meanwhile, unhindered: the sweep
// takes a shard's lock only to remove one record, as a Delete would.
func (m *MemoryStore) Sweep() int {
	now := time.Now().UnixMilli()
	n := 0
	m.records.Range(func(_, v any) bool {
		if e := v.(*memEntry); !e.live(now) && m.sweepOne(e) {
			n++
		}
		return true
	})
	return n
}

// sweepOne removes the ended entry e, unless a writer replaced or removed
// it since the sweep saw it.
func (m *MemoryStore) sweepOne(e *memEntry) bool {
	s := m.shard(e.key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !m.records.CompareAndDelete(e.key, e) {
		return false
	}
	s.subjects.remove(e.subject, e.key)
	s.sids.remove(e.sid, e.key)
	return true
}

func (m *MemoryStore) sweepEvery(d time.Duration) {
	defer close(m.done)
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.Sweep()
		}
	}
}

func (m *MemoryStore) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%memShards]
}

// A memShard serialises the writes to the records whose keys hash to it,
// and indexes those records by Subject and SID.
type memShard struct {
	mu       sync.Mutex
	subjects keySets
	sids     keySets

	// A cache line of padding keeps neighboring shards' locks apart, so
	// that writers on different cores do not contend.
	_ [64]byte
}

// index files e, whose key must be new, under its Subject and SID. The
// caller holds the lock.
func (s *memShard) index(e *memEntry) {
	s.subjects.add(e.subject, e.key)
	s.sids.add(e.sid, e.key)
}

// keySets indexes record keys by the value of one of their fields, Subject
// or SID. A user has few sessions, and a shard holds a 256th of them, so a
// short slice is the set.
type keySets map[string][]string

func (k keySets) add(v, key string) {
	if v != "" {
		k[v] = append(k[v], key)
	}
}

func (k keySets) remove(v, key string) {
	keys := k[v]
	i := slices.Index(keys, key)
	switch {
	case i < 0:
		return
	case len(keys) == 1:
		delete(k, v)
		return
	}
	last := len(keys) - 1
	keys[i], keys[last] = keys[last], ""
	k[v] = keys[:last]
}

// move files key under to instead of from, and returns the string to keep
// for to: from itself when they are equal, otherwise a copy of to that
// does not pin the caller's memory.
func (k keySets) move(key, from, to string) string {
	if from == to {
		return from
	}
	k.remove(from, key)
	to = strings.Clone(to)
	k.add(to, key)
	return to
}

// A memEntry is a record as a MemoryStore keeps it, times as Unix
// milliseconds (40 bytes instead of 120). Once stored it is never changed,
// so a Get can read it while writers work.
type memEntry struct {
	key, subject, sid string
	version           uint64
	created, lastSeen int64
	idle, absolute    int64
	leaseUntil        int64
	blob              []byte // never changed once stored: Get shares it
}

// newMemEntry converts r. Its strings are r's: the caller clones those it
// keeps.
func newMemEntry(r *Record) *memEntry {
	return &memEntry{
		key:        r.Key,
		subject:    r.Subject,
		sid:        r.SID,
		version:    r.Version,
		created:    r.Created.UnixMilli(),
		lastSeen:   r.LastSeen.UnixMilli(),
		idle:       r.IdleDeadline.UnixMilli(),
		absolute:   r.AbsoluteDeadline.UnixMilli(),
		leaseUntil: r.LeaseUntil.UnixMilli(),
		blob:       bytes.Clone(r.Blob),
	}
}

func (e *memEntry) live(now int64) bool {
	return now < min(e.idle, e.absolute)
}

// record returns e as a new Record that shares e's blob, which the caller
// replaces rather than changes (Store.Get's contract). The zero time
// survives the trip through Unix milliseconds: it comes back as a time for
// which IsZero reports true.
func (e *memEntry) record() *Record {
	return &Record{
		Key:              e.key,
		Version:          e.version,
		Created:          time.UnixMilli(e.created),
		LastSeen:         time.UnixMilli(e.lastSeen),
		IdleDeadline:     time.UnixMilli(e.idle),
		AbsoluteDeadline: time.UnixMilli(e.absolute),
		Subject:          e.subject,
		SID:              e.sid,
		LeaseUntil:       time.UnixMilli(e.leaseUntil),
		Blob:             e.blob,
	}
}
