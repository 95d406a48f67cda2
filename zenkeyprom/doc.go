// Package zenkeyprom counts what a [zenkey.Middleware] does, and times its
// store, as Prometheus metrics.
//
// [Metrics.OnEvent] is passed as [zenkey.Options.OnEvent]: it counts
// sign-ins, refused requests by reason, refreshes, sessions a refresh ended,
// logouts and the sessions they destroyed, and store and provider failures.
// [Metrics.Store] wraps the session store to time each of its calls. No
// metric carries a subject, a session or a token: every label is one of the
// middleware's fixed reason codes or a store operation.
//
// # Example
//
//	metrics := zenkeyprom.New(prometheus.DefaultRegisterer)
//	store, err := sqlitestore.Open("sessions.db")
//	if err != nil {
//		log.Fatal(err)
//	}
//	zk, err := zenkey.New(zenkey.Options{
//		ClientID:     os.Getenv("ZENKEY_CLIENT_ID"),
//		ClientSecret: os.Getenv("ZENKEY_CLIENT_SECRET"),
//		RedirectURL:  "https://app.example/auth/callback",
//		SecretKey:    secret,
//		Store:        metrics.Store(store),
//		OnEvent:      metrics.OnEvent,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics, all under the "zenkey_" prefix:
//
//	sign_ins_total                          sessions begun
//	rejections_total{reason}                requests refused
//	refreshes_total                         token refreshes
//	sessions_ended_total{reason}            sessions a refresh ended
//	logouts_total{reason}                   logouts: local, subject, backchannel
//	sessions_destroyed_total{reason}        sessions those logouts destroyed
//	store_errors_total{reason}              store failures the middleware met
//	provider_errors_total{reason}           provider failures off the request path
//	store_call_errors_total{operation}      failed store calls
//	store_call_duration_seconds{operation}  store call latency
package zenkeyprom
