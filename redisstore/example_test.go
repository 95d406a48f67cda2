package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/redisstore"
)

func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	store, err := redisstore.New(client, redisstore.Options{Prefix: "myapp"})
	if err != nil {
		log.Fatal(err)
	}

	var opts zenkey.Options
	opts.Store = store // and the app's credentials: see zenkey.Options
}
