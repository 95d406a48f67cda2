package sqlitestore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zenkey-go/zenkey/sqlitestore"
)

func TestMigrate(t *testing.T) {
	tests := []struct {
		name  string
		setup string // SQL run on the file before Open, "" for none
	}{
		{"EmptyFile", ""},
		{"OtherTables", "CREATE TABLE notes (body TEXT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(privateDir(t), "zenkey.db")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.setup != "" {
				execSQL(t, path, tt.setup)
			}

			s := openStore(t, path)
			if err := s.Create(t.Context(), newRecord(0)); err != nil {
				t.Fatalf("Create after migrating: %v", err)
			}
			if v := userVersion(t, path); v != 1 {
				t.Errorf("user_version = %d, want 1", v)
			}
		})
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(privateDir(t), "zenkey.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	execSQL(t, path, "PRAGMA user_version = 99")

	s, err := sqlitestore.Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded")
	}
	if want := "has schema version 99"; !strings.Contains(err.Error(), want) {
		t.Errorf("Open: %v, want it to say %q", err, want)
	}
}

func execSQL(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
