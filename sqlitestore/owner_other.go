//go:build !unix

package sqlitestore

import "io/fs"

// checkOwner does nothing where files have no unix owner.
func checkOwner(string, fs.FileInfo) error { return nil }
