package zenkeyprom_test

import (
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zenkey-go/zenkey"
	"github.com/zenkey-go/zenkey/zenkeyprom"
)

// An app counts the middleware's events and times its store, and serves
// the metrics at /metrics.
func Example() {
	reg := prometheus.NewRegistry()
	metrics := zenkeyprom.New(reg)
	zk, err := zenkey.New(zenkey.Options{
		ClientID:     os.Getenv("ZENKEY_CLIENT_ID"),
		ClientSecret: os.Getenv("ZENKEY_CLIENT_SECRET"),
		RedirectURL:  "https://app.example/auth/callback",
		SecretKey:    []byte(os.Getenv("ZENKEY_SECRET_KEY")),
		Store:        metrics.Store(zenkey.NewMemoryStore()),
		OnEvent:      metrics.OnEvent,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", zk.Handler(http.NotFoundHandler()))
	log.Fatal(http.ListenAndServe(":8080", mux))
}
