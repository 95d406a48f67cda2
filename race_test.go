package zenkey

import "runtime/debug"

// raceOn reports whether the test binary was built with -race, which makes
// every lock and map access several times slower, and makes sync.Pool drop
// some of what it is given, so that pooled code allocates.
func raceOn() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}
