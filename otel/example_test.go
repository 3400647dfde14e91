package otel_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	cookiesealotel "github.com/cookieseal/cookieseal/otel"
)

// Metrics is the manager's Observer (and Usage recorder); any
// OpenTelemetry reader or exporter collects it.
func Example() {
	reader := sdkmetric.NewManualReader()
	mt, _ := cookiesealotel.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	// In a program: middleware.Options{Observer: mt, Usage: mt}.
	mt.Observe(middleware.Event{Kind: middleware.EventRejected, Reason: cookie.ReasonUnknownKey})
	mt.RecordOpen(3, 0)

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				fmt.Println(m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value)
			}
		}
	}
	// Unordered output:
	// cookieseal.session.rejected cookieseal.reason=unknown_key 1
	// cookieseal.key.usage cookieseal.key.epoch=0,cookieseal.key.id=3,cookieseal.operation=open 1
}
