package storetest

import (
	"testing"

	"github.com/zenkey-go/zenkey"
)

// Run checks that stores made by open follow the zenkey.Store contract.
// open is called for each subtest; the stores it returns may share one
// backing database (keys are random), and are closed by open's t.Cleanup.
//
// The subtests run one after another. Together they wait about two seconds
// for deadlines to pass, and with -short they make fewer attempts at races.
func Run(t *testing.T, open func(t *testing.T) zenkey.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s zenkey.Store)
	}{
		{"Create", testCreate},
		{"CreateTaken", testCreateTaken},
		{"CreateConcurrent", testCreateConcurrent},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"DeleteSubject", testDeleteSubject},
		{"DeleteSID", testDeleteSID},
		{"Expiry", testExpiry},
		{"Lease", testLease},
		{"DeleteDuringUpdates", testDeleteDuringUpdates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, open(t))
		})
	}
}
