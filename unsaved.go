package zenkey

import (
	"sync"
	"time"
)

// maxUnsaved bounds how many unsaved refresh results an instance keeps:
// far more sessions than refresh in the few seconds of a store outage.
const maxUnsaved = 4096

// unsavedRefreshes keeps, per session key, the result of a refresh whose
// final write the store could not take. The provider has rotated the
// refresh token by then: the result is the session's only future, and
// redeeming the spent token again would end the session. The next refresh
// of the session on this instance writes the result instead, as long as
// the record still carries the lease that refresh took (the lease it could
// not release either). Another instance that takes the lease once it has
// passed finds the spent token, and the session ends.
type unsavedRefreshes struct {
	mu sync.Mutex
	m  map[string]unsavedRefresh
}

type unsavedRefresh struct {
	lease  time.Time
	change func(*sessionData)
}

// put keeps change for the session with key, leased until lease.
func (u *unsavedRefreshes) put(key string, lease time.Time, change func(*sessionData)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.m == nil || len(u.m) >= maxUnsaved {
		u.m = make(map[string]unsavedRefresh)
	}
	u.m[key] = unsavedRefresh{lease: lease, change: change}
}

// forget returns and forgets the change kept for the session with key,
// whatever its lease: the session has ended.
func (u *unsavedRefreshes) forget(key string) func(*sessionData) {
	u.mu.Lock()
	defer u.mu.Unlock()
	change := u.m[key]
	delete(u.m, key)
	return change.change
}

// take returns and forgets the change kept for rec, if rec still carries
// the lease it was kept under.
func (u *unsavedRefreshes) take(rec *Record) func(*sessionData) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.m[rec.Key]
	if !ok {
		return nil
	}
	delete(u.m, rec.Key)
	if !sameLease(rec.LeaseUntil, r.lease) {
		return nil
	}
	return r.change
}
