// Package redisstore keeps zenkey session records in Redis, so that several
// app instances share their sessions. It works with a single server, a
// Sentinel-managed one, or a Redis Cluster, through any
// [redis.UniversalClient]. It needs Redis 6.2 or later.
//
// # Layout
//
// With the default prefix "zenkey", a record whose key is K is one hash:
//
//	zenkey:{K}    fields r (the whole record, packed), v (version),
//	              x (end, Unix ms), s (subject), d (sid)
//
// Get reads field r alone, in one HGET: the whole record behind a format
// byte. Fields v, x, s and d repeat parts of r for the Lua scripts that
// compare them; every write sets all five in one HSET, so they never
// disagree with r. A value of r that Get cannot read whole is an error,
// never another record.
//
// The braces are a Redis Cluster hash tag: everything about one record lives
// in one hash slot, so each write is a single atomic Lua script. Records that
// carry a subject or a sid are also listed in sorted sets, scored by when the
// record ends:
//
//	zenkey:subject:{S}    keys of the records whose Subject is S
//	zenkey:sid:{D}        keys of the records whose SID is D
//
// A record and its index entries live in different slots, so they are
// written by separate commands, in an order that never leaves a record
// unlisted: Create writes the record, then its entries (and takes the record
// back if that fails); Update writes the entries, then the record; Delete
// deletes the record, then its entries. An entry may therefore outlive its
// record: when an Update fails after listing, when Redis drops an ended
// record, or when a Delete's second step fails. Such stale entries are
// harmless:
// [Store.DeleteSubject] and [Store.DeleteSID] delete a listed record only if
// it still carries the indexed value, every index write drops the entries
// whose score has passed, and an index expires with its last record.
//
// # Clocks
//
// The app's clock decides whether a record is live: Get compares the
// deadlines with [time.Now], and Update passes the time to its script. Redis
// drops a record by a TTL computed from the same clock (the time left when
// the write is sent), so the server's own clock never ends a session early.
// Keep the clocks of several app instances in sync.
//
// # Replicas
//
// Read from the primaries only: leave the client's ReadOnly, RouteByLatency
// and RouteRandomly options off. A replica may still hold a session that
// was just deleted, and Get would bring it back for a moment.
//
// # Durability
//
// A logout is final only if the server keeps the deletion: Redis confirms
// a DEL once it holds it in memory. A server that restarts from a snapshot
// taken before the DEL, or a replica promoted before it received the DEL,
// brings the session back until its TTL. Where that matters, run Redis
// with appendonly yes and appendfsync always, and fail over only to a
// replica that is known to be in sync. Redis without persistence (as in
// tests) loses every session on a restart, which is safe: the users sign
// in again.
//
// # Records of the earlier layout
//
// Before field r, a record kept its times and blob in fields c, l, i, a, u
// and b, and Get read nine fields. Such records read as not found: their
// users sign in again, and Redis drops the records when they end.
// [Store.DeleteSubject] and [Store.DeleteSID] still remove them. An app
// instance still running the earlier layout fails with an error on records
// written by this one, so upgrade every instance at once.
//
// # Example
//
//	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(client, redisstore.Options{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mw, err := zenkey.New(zenkey.Options{ /* ... */ Store: store})
package redisstore
