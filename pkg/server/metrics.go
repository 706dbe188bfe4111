package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, on a registry of their own.
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	tokensIssued *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	jobs         *prometheus.CounterVec
	collected    *prometheus.CounterVec
	// unavailable counts answers given because the database could not
	// answer (503 temporarily_unavailable, or the "try again" page).
	unavailable *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_tokens_issued_total",
			Help: "Successful token responses by grant type.",
		}, []string{"grant_type"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_throttled_total",
			Help: "Requests refused by throttling (429), by the kind of counter that refused them.",
		}, []string{"kind"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_jobs_total",
			Help: "Attempts of durable jobs (back-channel logouts, webhooks, mail) by kind and outcome: done, retry or dead.",
		}, []string{"kind", "outcome"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_storage_unavailable_total",
			Help: "Answers given because the database could not answer (503 temporarily_unavailable or the \"try again\" page), by endpoint.",
		}, []string{"endpoint"}),
		collected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_collected_total",
			Help: "Expired rows removed by the garbage collection, by kind (tokens, browser_sessions, …).",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.tokensIssued, m.throttled, m.jobs, m.unavailable, m.collected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
