package redisstore

import (
	"crypto/rand"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestEvalAllLoads checks that evalAll runs a script the server has never
// seen, as after a restart: by source, once its digest is refused.
func TestEvalAllLoads(t *testing.T) {
	addr := os.Getenv("ZENKEY_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("set ZENKEY_TEST_REDIS_ADDR (e.g. 127.0.0.1:6379) to test against Redis")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s := &Store{client: c, prefix: "unused"}

	// A script of its own, so that no other test loads it first.
	script := redis.NewScript("-- " + rand.Text() + "\nreturn ARGV[1]")
	calls := []call{
		{script, "zenkeytest:{a}", []any{"a"}},
		{script, "zenkeytest:{b}", []any{"b"}},
	}
	for i, cmd := range s.evalAll(t.Context(), calls) {
		got, err := cmd.Text()
		if want := calls[i].args[0]; err != nil || got != want {
			t.Errorf("call %d = %q, %v; want %q", i, got, err, want)
		}
	}
}
