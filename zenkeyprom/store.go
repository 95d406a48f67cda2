package zenkeyprom

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zenkey-go/zenkey"
)

// Store returns s wrapped so that each call's latency is observed, and each
// failure counted, under the call's operation: create, get, update, delete,
// delete_subject or delete_sid. ErrNotFound and ErrConflict are answers,
// not failures. The wrapper adds no behaviour of its own.
func (m *Metrics) Store(s zenkey.Store) zenkey.Store {
	op := func(name string) operation {
		return operation{m.callDuration.WithLabelValues(name), m.callErrors.WithLabelValues(name)}
	}
	return &store{
		next:          s,
		create:        op("create"),
		get:           op("get"),
		update:        op("update"),
		delete:        op("delete"),
		deleteSubject: op("delete_subject"),
		deleteSID:     op("delete_sid"),
	}
}

// operation holds one operation's metrics, looked up once rather than on
// every call: Get is on every request's path.
type operation struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// observe records a call that began at start and ended with err.
func (o operation) observe(start time.Time, err error) {
	o.duration.Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, zenkey.ErrNotFound) && !errors.Is(err, zenkey.ErrConflict) {
		o.errors.Inc()
	}
}

type store struct {
	next                                                  zenkey.Store
	create, get, update, delete, deleteSubject, deleteSID operation
}

func (s *store) Create(ctx context.Context, r *zenkey.Record) error {
	start := time.Now()
	err := s.next.Create(ctx, r)
	s.create.observe(start, err)
	return err
}

func (s *store) Get(ctx context.Context, key string) (*zenkey.Record, error) {
	start := time.Now()
	r, err := s.next.Get(ctx, key)
	s.get.observe(start, err)
	return r, err
}

func (s *store) Update(ctx context.Context, r *zenkey.Record) error {
	start := time.Now()
	err := s.next.Update(ctx, r)
	s.update.observe(start, err)
	return err
}

func (s *store) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := s.next.Delete(ctx, key)
	s.delete.observe(start, err)
	return err
}

func (s *store) DeleteSubject(ctx context.Context, subject string) (int, error) {
	start := time.Now()
	n, err := s.next.DeleteSubject(ctx, subject)
	s.deleteSubject.observe(start, err)
	return n, err
}

func (s *store) DeleteSID(ctx context.Context, sid string) (int, error) {
	start := time.Now()
	n, err := s.next.DeleteSID(ctx, sid)
	s.deleteSID.observe(start, err)
	return n, err
}
