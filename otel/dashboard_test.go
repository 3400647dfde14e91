package otel_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	promexp "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cookieseal/cookieseal/active"
	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	cookiesealotel "github.com/cookieseal/cookieseal/otel"
	"github.com/cookieseal/cookieseal/revoke"
)

// exported records one of everything the adapter can export, scrapes it
// through the Prometheus exporter over HTTP, and returns the metric names
// (with the exporter's suffixes: _total, _seconds, _bucket, …).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := promexp.New(promexp.WithRegisterer(reg), promexp.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	mt, err := cookiesealotel.New(mp)
	if err != nil {
		t.Fatal(err)
	}
	// Stats sources: plain values (the adapter only reads Stats).
	if _, err := mt.ObserveRevokeList(func() revoke.MemoryStats { return revoke.MemoryStats{Entries: 3, MaxEntries: 10, Rejected: 1} }); err != nil {
		t.Fatal(err)
	}
	if _, err := mt.ObserveRevokeCache(func() revoke.CacheStats {
		return revoke.CacheStats{Entries: 3, Staleness: 2 * time.Second, Loads: 1, LoadFailures: 1, LastLoadDuration: time.Millisecond, Resubscriptions: 1, Malformed: 1}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := mt.ObserveActive(func(context.Context, time.Duration) (active.Counts, error) {
		return active.Counts{Sessions: 10, Subjects: 3}, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range middleware.EventKinds() {
		mt.Observe(middleware.Event{Kind: k, Reason: cookie.ReasonTampered, Duration: time.Millisecond})
	}
	mt.Observe(middleware.Event{Kind: middleware.EventRevokeChecked, Err: revoke.ErrRevoked})
	mt.Observe(middleware.Event{Kind: middleware.EventRevokeChecked, Err: errors.New("down")})
	mt.RecordSeal(1, 0)
	mt.RecordOpen(1, 0)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
	}
	return names
}

var (
	labelMatchers = regexp.MustCompile(`\{[^}]*\}`)
	groupings     = regexp.MustCompile(`\b(by|without)\s*\([^)]*\)`)
	metricName    = regexp.MustCompile(`\bcookieseal_[a-z0-9_]+`)
)

// TestDashboardNamesExportedMetrics: every query of dashboard.json names
// at least one metric, and every metric it names is one the adapter
// exports (as scraped), so a renamed metric cannot leave a blank panel.
func TestDashboardNamesExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	have := exported(t)
	used := map[string]bool{}
	queries := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			e := groupings.ReplaceAllString(labelMatchers.ReplaceAllString(q.Expr, ""), "")
			ms := metricName.FindAllString(e, -1)
			if len(ms) == 0 {
				t.Errorf("panel %q: query %q names no cookieseal metric", p.Title, q.Expr)
			}
			for _, m := range ms {
				used[m] = true
				if !have[m] {
					t.Errorf("panel %q: query %q names %s, which the adapter does not export", p.Title, q.Expr, m)
				}
			}
		}
	}
	if queries < 10 {
		t.Fatalf("only %d queries: the dashboard did not load", queries)
	}
	// And the other way: each instrument of Names appears on the
	// dashboard in some form.
	for _, n := range cookiesealotel.Names {
		base := strings.ReplaceAll(n, ".", "_")
		found := false
		for u := range used {
			if strings.HasPrefix(u, base) {
				found = true
			}
		}
		if !found {
			t.Errorf("metric %s is not on the dashboard", n)
		}
	}
}
