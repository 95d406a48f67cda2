package zenkeyprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zenkey-go/zenkey"
)

// Metrics counts the middleware's events and times its store. Create one
// with [New]; it is safe for concurrent use.
type Metrics struct {
	signIns           prometheus.Counter
	rejections        *prometheus.CounterVec
	refreshes         prometheus.Counter
	sessionsEnded     *prometheus.CounterVec
	logouts           *prometheus.CounterVec
	sessionsDestroyed *prometheus.CounterVec
	storeErrors       *prometheus.CounterVec
	providerErrors    *prometheus.CounterVec

	callErrors   *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
}

// New creates the metrics and registers them with reg, or with
// prometheus.DefaultRegisterer when reg is nil. Like
// prometheus.MustRegister, it panics if reg already holds metrics of the
// same names: create one Metrics per registry.
func New(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "zenkey", Name: name,
			Help: help})
	}
	vec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "zenkey", Name: name,
			Help: help},
			[]string{label})
	}
	m := &Metrics{
		signIns:    counter("sign_ins_total", "Sessions begun by a login."),
		rejections: vec("rejections_total", "Requests refused, by reason.", "reason"),
		refreshes:  counter("refreshes_total", "Token refreshes."),
		sessionsEnded: vec("sessions_ended_total", "Sessions a refresh ended, by reason.",
			"reason"),
		logouts: vec("logouts_total", "Logouts, by kind.", "reason"),
		sessionsDestroyed: vec("sessions_destroyed_total",
			"Sessions destroyed by logouts, by kind.", "reason"),
		storeErrors: vec("store_errors_total",
			"Store failures the middleware met, by reason.", "reason"),
		providerErrors: vec("provider_errors_total",
			"Provider failures off the request path, by reason.", "reason"),
		callErrors: vec("store_call_errors_total", "Store calls that failed, by operation.",
			"operation"),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "zenkey",
			Name:      "store_call_duration_seconds",
			Help:      "Store call latency, by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25,
				.5, 1, 2.5, 5},
		}, []string{"operation"}),
	}
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	reg.MustRegister(m.signIns, m.rejections, m.refreshes, m.sessionsEnded, m.logouts,
		m.sessionsDestroyed, m.storeErrors, m.providerErrors, m.callErrors, m.callDuration)
	return m
}

// OnEvent counts e. Pass it as [zenkey.Options.OnEvent].
func (m *Metrics) OnEvent(e zenkey.Event) {
	switch e.Kind {
	case zenkey.EventSignIn:
		m.signIns.Inc()
	case zenkey.EventRejection:
		m.rejections.WithLabelValues(e.Reason).Inc()
	case zenkey.EventRefresh:
		m.refreshes.Inc()
	case zenkey.EventSessionEnded:
		m.sessionsEnded.WithLabelValues(e.Reason).Inc()
	case zenkey.EventLogout:
		m.logouts.WithLabelValues(e.Reason).Inc()
		m.sessionsDestroyed.WithLabelValues(e.Reason).Add(float64(max(e.Sessions, 0)))
	case zenkey.EventStoreError:
		m.storeErrors.WithLabelValues(e.Reason).Inc()
	case zenkey.EventProviderError:
		m.providerErrors.WithLabelValues(e.Reason).Inc()
	}
}
