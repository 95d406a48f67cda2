package zenkey_test

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestTmpSweepPause(t *testing.T) {
	for _, sweep := range []bool{false, true, true} {
		m := fillMemoryStore(t, 1_000_000, 0, false)
		runtime.GC()
		old := debug.SetGCPercent(-1)
		stop := make(chan struct{})
		longest := make(chan time.Duration)
		go readUntil(m, stop, longest)
		start := time.Now()
		if sweep {
			m.Sweep()
		} else {
			time.Sleep(time.Second)
		}
		d := time.Since(start)
		close(stop)
		t.Logf("sweep=%v took %v longest get %v", sweep, d, <-longest)
		debug.SetGCPercent(old)
		m.Close()
	}
}
