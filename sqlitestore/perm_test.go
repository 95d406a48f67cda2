//go:build unix

package sqlitestore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/zenkey-go/zenkey/sqlitestore"
)

// TestOpenCreatesPrivateFiles checks the modes of what Open creates, under
// umasks that would otherwise widen or narrow them. The umask is the
// process's, so these tests do not run in parallel.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	for _, umask := range []int{0o022, 0o000, 0o277} {
		t.Run(fmt.Sprintf("umask%04o", umask), func(t *testing.T) {
			dir := filepath.Join(privateDir(t), "sessions")
			path := filepath.Join(dir, "zenkey.db")
			old := syscall.Umask(umask)
			s, err := sqlitestore.Open(path)
			syscall.Umask(old)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Create(t.Context(), newRecord(0)); err != nil {
				t.Fatal(err)
			}

			wantMode(t, dir, 0o700|fs.ModeDir)
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				wantMode(t, p, 0o600)
			}
		})
	}
}

func wantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

// ownDir ends the errors about directories.
const ownDir = "keep the database in a directory of its own, which Open creates with mode 0700"

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name string
		dir  fs.FileMode
		file fs.FileMode // 0 for no file
		wal  fs.FileMode // 0 for no -wal file
		want string      // %s stands for the directory
	}{
		{"GroupReadableFile", 0o700, 0o640, 0,
			"%s/zenkey.db is readable by other users (mode 0640); run: chmod 600 %s/zenkey.db"},
		{"WorldWritableFile", 0o700, 0o602, 0,
			"%s/zenkey.db is writable by other users (mode 0602); run: chmod 600 %s/zenkey.db"},
		{"ReadableWAL", 0o700, 0o600, 0o644,
			"%s/zenkey.db-wal is readable by other users (mode 0644); run: chmod 600 " +
				"%s/zenkey.db-wal"},
		{"WorldReadableDir", 0o755, 0, 0,
			"%s is readable by other users (mode 0755); run: chmod 700 %s, or " + ownDir},
		{"SearchableDir", 0o711, 0o600, 0,
			"%s is searchable by other users (mode 0711); run: chmod 700 %s, or " + ownDir},
		{"SharedDir", 0o777 | fs.ModeSticky, 0, 0,
			"%s is readable by other users (mode 0777); " + ownDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(privateDir(t), "sessions")
			path := filepath.Join(dir, "zenkey.db")
			mkdir(t, dir, tt.dir)
			writeFile(t, path, tt.file)
			writeFile(t, path+"-wal", tt.wal)

			s, err := sqlitestore.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			want := "zenkey/sqlitestore: " + strings.ReplaceAll(tt.want, "%s", dir)
			if err.Error() != want {
				t.Errorf("Open: %v\nwant: %s", err, want)
			}
			if _, err := os.Stat(path); tt.file == 0 && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open created the file in a directory it refused: %v", err)
			}
		})
	}
}

// TestOpenRefusesQuoted checks that the command in the error is one a
// shell takes as it is, for a path that needs quoting.
func TestOpenRefusesQuoted(t *testing.T) {
	dir := filepath.Join(privateDir(t), "it's mine")
	path := filepath.Join(dir, "zenkey.db")
	mkdir(t, dir, 0o700)
	writeFile(t, path, 0o644)

	_, err := sqlitestore.Open(path)
	want := `run: chmod 600 '` + strings.ReplaceAll(path, `'`, `'\''`) + `'`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Open: %v\nwant it to end with: %s", err, want)
	}
}

func mkdir(t *testing.T, dir string, mode fs.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
}

// writeFile creates an empty file at path with mode, unless mode is 0.
func writeFile(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if mode == 0 {
		return
	}
	if err := os.WriteFile(path, nil, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesAnotherUsersFile: a private mode protects nothing when
// the file or its directory is someone else's. Only root can give a file
// away, so the test needs root (CI runs as root).
func TestOpenRefusesAnotherUsersFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown a file to another user")
	}
	const nobody = 65534
	for _, mine := range []string{"dir", "file"} {
		t.Run("not my "+mine, func(t *testing.T) {
			dir := filepath.Join(privateDir(t), "sessions")
			path := filepath.Join(dir, "zenkey.db")
			mkdir(t, dir, 0o700)
			writeFile(t, path, 0o600)
			theirs := map[string]string{"dir": dir, "file": path}[mine]
			if err := os.Chown(theirs, nobody, nobody); err != nil {
				t.Fatal(err)
			}

			s, err := sqlitestore.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			want := fmt.Sprintf("zenkey/sqlitestore: %s belongs to user %d, not to this "+
				"process's user 0; run: chown 0 %s",
				theirs, nobody, theirs)
			if err.Error() != want {
				t.Errorf("Open: %v\nwant: %s", err, want)
			}
		})
	}
}
