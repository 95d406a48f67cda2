package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// busyTimeout is how long a connection waits for another process's lock on
// the database before it gives up, in milliseconds.
const busyTimeout = 5000

// Store is a zenkey.Store in an SQLite database file. It is safe for
// concurrent use, and several processes may open the same file.
type Store struct {
	path  string
	write *sql.DB // one connection: writes wait for each other here
	read  *sql.DB // read-only connections, never blocked by writes in WAL mode
	stmts statements

	stop context.CancelFunc
	done chan struct{}
	once sync.Once
	err  error
}

// Open opens or creates the store's database file at path.
//
// It creates the file with mode 0600, and its directory with mode 0700 when
// that is missing, and refuses to open a file, a -wal or -shm file beside
// it, or a directory that other users can read, write or search; the error
// names the command that fixes it. It migrates the schema to the latest
// version and starts the sweeper, which Close stops.
func Open(path string) (*Store, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	s := &Store{path: path, done: make(chan struct{})}
	if err := s.open(); err != nil {
		s.closeDBs()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.sweepEvery(ctx, sweepEvery)
	return s, nil
}

// open connects to the database, migrates it and prepares the statements.
func (s *Store) open() error {
	// Writes begin their transactions with BEGIN IMMEDIATE, so that a
	// transaction never has to upgrade its read lock and fail. FULL
	// synchronisation makes a confirmed delete (a logout) survive a power
	// loss; writes are rare, so it costs little.
	const writeParams = "_txlock=immediate&_journal_mode=WAL&_synchronous=FULL"
	var err error
	s.write, err = sql.Open("sqlite", dsn(s.path, writeParams))
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	s.write.SetMaxOpenConns(1)
	if err := migrate(context.Background(), s.write, s.path); err != nil {
		return err
	}
	if err := restrictSidecars(s.path); err != nil {
		return err
	}

	s.read, err = sql.Open("sqlite", dsn(s.path, "_pragma=query_only(1)"))
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	s.read.SetMaxOpenConns(readers)
	s.read.SetMaxIdleConns(readers)

	return s.stmts.prepare(s.write, s.read)
}

// dsn returns the driver's name for the database file at path, with the
// parameters every connection needs and then query. mode=rw keeps SQLite
// from creating the file: prepareFile did, with the right mode.
func dsn(path, query string) string {
	u := url.URL{
		Scheme:   "file",
		Path:     path,
		RawQuery: fmt.Sprintf("mode=rw&_busy_timeout=%d&%s", busyTimeout, query),
	}
	return u.String()
}

// Close stops the sweeper and closes the database. It returns the same
// result when called again.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.stop()
		<-s.done
		s.err = s.closeDBs()
	})
	return s.err
}

func (s *Store) closeDBs() error {
	errs := []error{s.stmts.close()}
	for _, db := range []*sql.DB{s.read, s.write} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: close %s: %w", s.path, err)
	}
	return nil
}

// now is the time the store compares deadlines with.
func now() int64 {
	return time.Now().UnixMilli()
}
