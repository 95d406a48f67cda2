package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/zenkey-go/zenkey"
)

// An index is one of the record fields a store can delete by.
type index struct {
	set    func(r *zenkey.Record, v string)
	delete func(s zenkey.Store, ctx context.Context, v string) (int, error)
}

func testDeleteSubject(t *testing.T, s zenkey.Store) {
	testDeleteIndexed(t, s, index{
		set:    func(r *zenkey.Record, v string) { r.Subject = v },
		delete: zenkey.Store.DeleteSubject,
	})
}

func testDeleteSID(t *testing.T, s zenkey.Store) {
	testDeleteIndexed(t, s, index{
		set:    func(r *zenkey.Record, v string) { r.SID = v },
		delete: zenkey.Store.DeleteSID,
	})
}

// testDeleteIndexed files records under two values, a and b, and under the
// empty value, moves two of them with Update, and checks that deleting by a
// value removes exactly the records filed under it, and counts the live
// ones: a record filed under a had ended when it was created.
func testDeleteIndexed(t *testing.T, s zenkey.Store, ix index) {
	a, b := randomHex(), randomHex()
	filed := map[string][]*zenkey.Record{}
	for _, v := range []string{a, a, a, b, b, "", ""} {
		r := newRecord()
		ix.set(r, v)
		mustCreate(t, s, r)
		filed[v] = append(filed[v], r)
	}
	ended := newRecord()
	ended.IdleDeadline = time.Now().Add(-time.Minute)
	ix.set(ended, a)
	mustCreate(t, s, ended)

	// Move one record from b to a, and one from a to no value at all.
	move := func(from, to string) {
		r := filed[from][0]
		ix.set(r, to)
		if err := s.Update(t.Context(), r); err != nil {
			t.Fatalf("Update: %v", err)
		}
		filed[from], filed[to] = filed[from][1:], append(filed[to], r)
	}
	move(b, a)
	move(a, "")

	steps := []struct {
		name string
		v    string
		want int
	}{
		{"Empty", "", 0},
		{"Unknown", randomHex(), 0},
		{"A", a, 3},
		{"AAgain", a, 0},
		{"B", b, 1},
	}
	for _, step := range steps {
		n, err := ix.delete(s, t.Context(), step.v)
		if err != nil || n != step.want {
			t.Errorf("%s: removed %d, %v; want %d, nil", step.name, n, err, step.want)
		}
		if step.v == "" {
			continue // the records filed under no value are checked below
		}
		for _, r := range filed[step.v] {
			wantGone(t, s, r.Key)
		}
	}
	for _, r := range filed[""] {
		wantStored(t, s, r)
	}
}
