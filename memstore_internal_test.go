package zenkey

import (
	"context"
	"testing"
	"time"
)

// TestMemoryStoreGetTakesNoLock holds every shard's lock, as writers and
// the sweeper do in turn, and checks that a Get still answers: a request's
// read must never wait for them.
func TestMemoryStoreGetTakesNoLock(t *testing.T) {
	m := NewMemoryStore()
	defer m.Close()
	now := time.Now()
	r := &Record{Key: "k", Subject: "s", Created: now, LastSeen: now,
		IdleDeadline: now.Add(time.Hour), AbsoluteDeadline: now.Add(time.Hour)}
	if err := m.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}

	for i := range m.shards {
		m.shards[i].mu.Lock()
		defer m.shards[i].mu.Unlock()
	}
	got := make(chan error, 1)
	go func() {
		_, err := m.Get(context.Background(), "k")
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("Get while every shard is locked: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Get waited for a shard's lock")
	}
}
