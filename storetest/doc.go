// Package storetest checks that a [zenkey.Store] keeps the store contract:
// create only new keys, compare-and-swap on every other write, no upsert,
// idempotent deletes, deletes by subject and by provider session, expiry
// enforced on every read, a lease that only one caller wins, and no deleted
// session ever coming back while other requests write to it.
//
// Every store in this module runs it from its own tests, and so can yours.
//
// # Example
//
// In the tests of a store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) zenkey.Store {
//			s, err := mystore.Open(testDSN)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
package storetest
