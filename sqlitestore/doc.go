// Package sqlitestore is a [zenkey.Store] in an SQLite database file: the
// persistent default for an app that runs as a single instance. It is pure
// Go (modernc.org/sqlite), so it needs no cgo.
//
// The file holds session records whose blobs are already encrypted, but
// their keys and index values still say who is signed in and when, so the
// store keeps the file private: it creates it with mode 0600 in a directory
// with mode 0700, and refuses to open a file, a -wal or -shm file beside
// it, or a directory that other users can read, write or search.
//
// The database runs in WAL mode: reads go through a pool of read-only
// connections and are never blocked by writes, which go through one
// connection. A sweeper deletes ended records every minute, 500 at a time.
//
// # Example
//
//	store, err := sqlitestore.Open("/var/lib/myapp/sessions/zenkey.db")
//	if err != nil {
//		log.Fatal(err) // the error says how to fix a file's permissions
//	}
//	defer store.Close()
//	mw, err := zenkey.New(zenkey.Options{Store: store, ...})
package sqlitestore
