// Command example serves a small session app with cookieseal's metrics
// on /metrics in the Prometheus text format, through OpenTelemetry's
// Prometheus exporter:
//
//	go run ./otel/example -addr 127.0.0.1:8080
//	curl -k https://127.0.0.1:8080/login; curl -k https://127.0.0.1:8080/metrics | grep cookieseal_
//
// It serves HTTPS with a throwaway self-signed certificate, because the
// session cookie is Secure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	promexp "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cookieseal/cookieseal/active"
	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	cookiesealotel "github.com/cookieseal/cookieseal/otel"
	"github.com/cookieseal/cookieseal/revoke"
)

// app is the example's handler and what it needs to shut down.
type app struct {
	handler  http.Handler
	provider *sdkmetric.MeterProvider
}

// newApp builds the session manager with metrics, logs and an
// active-session counter, and the handler serving /login, /me, /logout
// and /metrics. keys may be swapped under it (rotation).
func newApp(keys keyring.Provider, logger *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	exp, err := promexp.New(promexp.WithRegisterer(reg),
		promexp.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	mt, err := cookiesealotel.New(mp)
	if err != nil {
		return nil, err
	}
	revoker := revoke.NewMemory(revoke.MemoryOptions{MaxEntries: 100_000})
	counter := active.NewCounter(active.CounterOptions{})
	if _, err := mt.ObserveRevokeList(revoker.Stats); err != nil {
		return nil, err
	}
	if _, err := mt.ObserveActive(cookiesealotel.CounterSource(counter)); err != nil {
		return nil, err
	}
	m, err := middleware.New(keys, "session", middleware.Options{InsecureNoHostPrefix: true,
		Observer: middleware.Observers(mt, counter, middleware.NewLogObserver(logger)),
		Codec:    cookie.Options{Usage: mt},
		Revoker:  revoker,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Renew(); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s.SetSubject("user-" + r.URL.Query().Get("u"))
		fmt.Fprintln(w, "logged in")
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if !s.Authenticated() {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, s.Subject())
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.From(r)
		if err := s.Destroy(); err != nil {
			logger.Error("logout", "err", err)
		}
		fmt.Fprintln(w, "bye")
	})
	root := http.NewServeMux()
	root.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	root.Handle("/", m.Handler(mux))
	return &app{handler: root, provider: mp}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kr, err := keyring.Generate()
	if err != nil {
		log.Fatal(err)
	}
	a, err := newApp(kr, logger)
	if err != nil {
		log.Fatal(err)
	}
	defer a.provider.Shutdown(context.Background())
	// httptest's certificate is a throwaway self-signed one: enough for
	// a local demo of a Secure cookie.
	srv := httptest.NewUnstartedServer(a.handler)
	srv.Config.Addr = *addr
	srv.Listener.Close()
	srv.Listener, err = netListen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	srv.StartTLS()
	logger.Info("serving", "url", srv.URL)
	select {}
}

var errNoAddr = errors.New("example: no address")
