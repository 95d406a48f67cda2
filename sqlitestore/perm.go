package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The modes the store creates: its directory and files are its owner's.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// sidecars are the files SQLite keeps beside the database in WAL mode.
var sidecars = []string{"-wal", "-shm"}

// prepareFile makes sure the database file at path exists and that only
// its owner can reach it. It creates the directory (mode 0700) and the file
// (mode 0600) when they are missing, whatever the umask, and otherwise
// refuses a directory, file or sidecar that other users can use.
func prepareFile(path string) error {
	dir := filepath.Dir(path)
	if err := makeDir(dir); err != nil {
		return err
	}
	if err := checkPrivate(dir); err != nil {
		return err
	}

	// Create the file before the driver does, so that it never exists with
	// the driver's mode, and check it whether it was created now or not.
	if err := createFile(path); err != nil {
		return err
	}
	if err := checkPrivate(path); err != nil {
		return err
	}
	for _, suffix := range sidecars {
		err := checkPrivate(path + suffix)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// makeDir creates dir with its parents when it is missing.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return nil // checkPrivate reports any other error
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	return nil
}

// createFile creates an empty file at path with mode 0600 unless something
// already exists there. SQLite takes an empty file for a new database.
func createFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	err = f.Chmod(fileMode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	return nil
}

// restrictSidecars sets the mode of the -wal and -shm files to 0600. SQLite
// gives them the database file's mode when it creates them; this makes sure
// of it.
func restrictSidecars(path string) error {
	for _, suffix := range sidecars {
		err := os.Chmod(path+suffix, fileMode)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("zenkey/sqlitestore: %w", err)
		}
	}
	return nil
}

// checkPrivate returns an error that says how to fix it if path belongs to
// another user, or if other users can read, write or search (for a
// directory) or execute (for a file) it.
//
// Windows has no such mode bits: Go reports 0666 for every writable file
// there, and the file's access control list is not checked.
func checkPrivate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("zenkey/sqlitestore: %w", err)
	}
	if err := checkOwner(path, info); err != nil {
		return err
	}
	perm := info.Mode().Perm()
	if perm&0o077 == 0 || runtime.GOOS == "windows" {
		return nil
	}
	return fmt.Errorf("zenkey/sqlitestore: %s is %s by other users (mode %04o); %s",
		path, exposure(perm, info.IsDir()), perm, fix(path, info))
}

// fix says how to make path private. A directory with the sticky bit, like
// /tmp, is meant to be shared: the fix is another directory.
func fix(path string, info fs.FileInfo) string {
	const own = "keep the database in a directory of its own, which Open creates with mode 0700"
	switch {
	case !info.IsDir():
		return fmt.Sprintf("run: chmod %o %s", fileMode, shellQuote(path))
	case info.Mode()&fs.ModeSticky != 0:
		return own
	default:
		return fmt.Sprintf("run: chmod %o %s, or %s", dirMode, shellQuote(path), own)
	}
}

// exposure names the most telling of what others may do with a file or
// directory of mode perm.
func exposure(perm fs.FileMode, dir bool) string {
	switch {
	case perm&0o044 != 0:
		return "readable"
	case perm&0o022 != 0:
		return "writable"
	case dir:
		return "searchable"
	default:
		return "executable"
	}
}

// shellQuote returns s as one word for a POSIX shell: as it is when it is
// made of safe characters only, in single quotes otherwise.
func shellQuote(s string) string {
	safe := func(r rune) bool {
		return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			r >= '0' && r <= '9' || strings.ContainsRune("/._-+,:@%=", r))
	}
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !safe(r) }) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
