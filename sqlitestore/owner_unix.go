//go:build unix

package sqlitestore

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner returns an error if path, described by info, belongs to
// another user than the process's. Private mode bits protect nothing when
// the file is someone else's: its owner can read it, or change its mode. A
// root process would otherwise open any user's 0600 file.
func checkOwner(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return nil
	}
	return fmt.Errorf("zenkey/sqlitestore: %s belongs to user %d, not to this process's user %d; "+
		"run: chown %d %s", path, st.Uid, os.Geteuid(), os.Geteuid(), shellQuote(path))
}
