// Package otel exports cookieseal's session events, key usage, revocation
// list state and active-session estimates as OpenTelemetry metrics
// (go.opentelemetry.io/otel/metric). It lives in its own module so that
// the core library does not depend on OpenTelemetry.
//
// Wire one [Metrics] as the manager's Observer and as its key usage
// recorder, then register the gauges you have. The package is named otel,
// as OpenTelemetry's own package is: import it under another name, as
// every example here does:
//
//	import cookiesealotel "github.com/cookieseal/cookieseal/otel"
//
//	mt, _ := cookiesealotel.New(meterProvider)
//	m, _ := middleware.New(keys, "__Host-session", middleware.Options{Observer: mt, Codec: cookie.Options{Usage: mt}})
//	mt.ObserveRevokeCache(cached.Stats)                     // revoke/redis
//	mt.ObserveActive(cookiesealotel.CounterSource(counter)) // active, one instance
//	mt.ObserveActive(tracker.Count)                         // revoke/redis/active, the fleet
//
// Metric names follow OpenTelemetry's conventions (dotted, unit in the
// instrument, not the name); the Prometheus exporter turns
// cookieseal.session.rejected into cookieseal_session_rejected_total. The
// names are listed in [Names]; docs/observability.md says which to
// alert on, and dashboard.json draws them.
package otel

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/cookieseal/cookieseal/active"
	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/cookieseal/cookieseal/otel"

// Metric names, as OpenTelemetry instruments. The Prometheus exporter
// replaces dots with underscores and adds _total to counters and the unit
// (_seconds) where there is one. Attributes are named in each comment.
const (
	// NameOpened counts sessions admitted (authentic, unexpired, not
	// revoked).
	NameOpened = "cookieseal.session.opened"
	// NameRejected counts session cookies refused, by cookieseal.reason
	// (cookie.Reason's names).
	NameRejected = "cookieseal.session.rejected"
	// NameWrites counts session cookies written, by cookieseal.write:
	// saved (after a change), refreshed (sliding), resealed (rotation).
	NameWrites = "cookieseal.session.writes"
	// NameSaveFailures counts sessions that could not be saved: 500s.
	NameSaveFailures = "cookieseal.session.save_failures"
	// NameRenewed counts Session.Renew calls.
	NameRenewed = "cookieseal.session.renewed"
	// NameDestroyed counts Session.Destroy calls.
	NameDestroyed = "cookieseal.session.destroyed"
	// NameRevokeDuration is the revocation check latency histogram in
	// seconds, by cookieseal.outcome: ok, revoked, fault.
	NameRevokeDuration = "cookieseal.revoke.check.duration"
	// NameRevokeFaults counts revocation store calls that failed.
	NameRevokeFaults = "cookieseal.revoke.faults"
	// NameKeyUsage counts seals and opens by cookieseal.key.id,
	// cookieseal.key.epoch and cookieseal.operation (seal, open).
	NameKeyUsage = "cookieseal.key.usage"
	// NameRevokeEntries is the revocation list's size (gauge).
	NameRevokeEntries = "cookieseal.revoke.entries"
	// NameRevokeLimit is revoke.Memory's cap; 0 means none (gauge).
	NameRevokeLimit = "cookieseal.revoke.entries.limit"
	// NameRevokeMalformed is the Redis cache's unparsable entries (gauge).
	NameRevokeMalformed = "cookieseal.revoke.entries.malformed"
	// NameRevokeFull counts revocations refused because the list was full.
	NameRevokeFull = "cookieseal.revoke.rejected"
	// NameRevokeStaleness is the age in seconds of the Redis cache's last
	// confirmation (gauge); -1 before the first load.
	NameRevokeStaleness = "cookieseal.revoke.staleness"
	// NameRevokeLoads counts the Redis cache's completed full loads.
	NameRevokeLoads = "cookieseal.revoke.loads"
	// NameRevokeLoadFail counts its failed load attempts.
	NameRevokeLoadFail = "cookieseal.revoke.load_failures"
	// NameRevokeLoadTime is the last full load's wall time in seconds.
	NameRevokeLoadTime = "cookieseal.revoke.load.duration"
	// NameRevokeResubs counts its re-established subscriptions.
	NameRevokeResubs = "cookieseal.revoke.resubscriptions"
	// NameActiveSessions is the estimated distinct active sessions, by
	// cookieseal.window (5m, 1h, 1d) (gauge).
	NameActiveSessions = "cookieseal.sessions.active"
	// NameActiveSubjects is the estimated distinct active subjects
	// (users), by cookieseal.window (gauge).
	NameActiveSubjects = "cookieseal.subjects.active"
)

const (
	attrReason    = "cookieseal.reason"
	attrWrite     = "cookieseal.write"
	attrOutcome   = "cookieseal.outcome"
	attrKeyID     = "cookieseal.key.id"
	attrEpoch     = "cookieseal.key.epoch"
	attrOperation = "cookieseal.operation"
	attrWindow    = "cookieseal.window"
)

// Names lists every metric this package can export.
var Names = []string{
	NameOpened, NameRejected, NameWrites, NameSaveFailures, NameRenewed, NameDestroyed,
	NameRevokeDuration, NameRevokeFaults, NameKeyUsage,
	NameRevokeEntries, NameRevokeLimit, NameRevokeMalformed, NameRevokeFull, NameRevokeStaleness,
	NameRevokeLoads, NameRevokeLoadFail, NameRevokeLoadTime, NameRevokeResubs,
	NameActiveSessions, NameActiveSubjects,
}

// revokeBuckets are the check latency histogram's bounds, in seconds: a
// cached check answers in microseconds, a Redis round trip in a
// millisecond or two, and DefaultRevokeCheckTimeout is 100 ms.
var revokeBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25}

// Metrics records cookieseal's metrics on one meter. It is a
// [middleware.Observer] and a keyring.UsageRecorder. Recording an event
// allocates nothing: attribute sets are built once. It is safe for
// concurrent use.
type Metrics struct {
	meter metric.Meter

	opened, renewed, destroyed, saveFailures, faults metric.Int64Counter
	rejected, writes, keyUsage                       metric.Int64Counter
	revokeDuration                                   metric.Float64Histogram

	byReason  []metric.AddOption // by cookie.Reason
	byWrite   map[middleware.EventKind]metric.AddOption
	byOutcome [3]metric.RecordOption // ok, revoked, fault

	keys sync.Map // keyUse → metric.AddOption
}

type keyUse struct {
	id, epoch uint32
	seal      bool
}

// New returns [Metrics] on the meter named [ScopeName] of mp.
func New(mp metric.MeterProvider) (*Metrics, error) {
	if mp == nil {
		return nil, errors.New("otel: nil MeterProvider")
	}
	m := &Metrics{meter: mp.Meter(ScopeName)}
	var errs []error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, err := m.meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	m.opened = counter(NameOpened, "Sessions that authenticated, passed expiry and revocation.", "{session}")
	m.rejected = counter(NameRejected, "Session cookies refused, by reason.", "{cookie}")
	m.writes = counter(NameWrites, "Session cookies written: saved after a change, refreshed, or re-sealed under the primary key.", "{cookie}")
	m.saveFailures = counter(NameSaveFailures, "Sessions that could not be saved (the response was an error).", "{session}")
	m.renewed = counter(NameRenewed, "Sessions renewed (new id, new issued-at).", "{session}")
	m.destroyed = counter(NameDestroyed, "Sessions destroyed.", "{session}")
	m.faults = counter(NameRevokeFaults, "Revocation store calls that failed (checks, and the revocations of Renew and Destroy).", "{call}")
	m.keyUsage = counter(NameKeyUsage, "Seals and opens by key ID and epoch: an old key has drained when its opens stop.", "{operation}")
	h, err := m.meter.Float64Histogram(NameRevokeDuration, metric.WithDescription("Revocation check latency, by outcome."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(revokeBuckets...))
	errs = append(errs, err)
	m.revokeDuration = h
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, r := range cookie.Reasons() {
		m.byReason = append(m.byReason, metric.WithAttributeSet(attribute.NewSet(attribute.String(attrReason, r.String()))))
	}
	m.byWrite = map[middleware.EventKind]metric.AddOption{}
	for _, k := range []middleware.EventKind{middleware.EventSaved, middleware.EventRefreshed, middleware.EventResealed} {
		m.byWrite[k] = metric.WithAttributeSet(attribute.NewSet(attribute.String(attrWrite, k.String())))
	}
	for i, o := range []string{"ok", "revoked", "fault"} {
		m.byOutcome[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String(attrOutcome, o)))
	}
	return m, nil
}

// Observe records one session event ([middleware.Observer]).
func (m *Metrics) Observe(e middleware.Event) {
	ctx := context.Background()
	switch e.Kind {
	case middleware.EventOpened:
		m.opened.Add(ctx, 1)
	case middleware.EventRejected:
		if int(e.Reason) < len(m.byReason) {
			m.rejected.Add(ctx, 1, m.byReason[e.Reason])
		} else {
			m.rejected.Add(ctx, 1, metric.WithAttributes(attribute.String(attrReason, e.Reason.String())))
		}
	case middleware.EventSaved, middleware.EventRefreshed, middleware.EventResealed:
		m.writes.Add(ctx, 1, m.byWrite[e.Kind])
	case middleware.EventSaveFailed:
		m.saveFailures.Add(ctx, 1)
	case middleware.EventRenewed:
		m.renewed.Add(ctx, 1)
	case middleware.EventDestroyed:
		m.destroyed.Add(ctx, 1)
	case middleware.EventRevokeFault:
		m.faults.Add(ctx, 1)
	case middleware.EventRevokeChecked:
		o := 0
		switch {
		case e.Err == nil:
		case errors.Is(e.Err, revoke.ErrRevoked):
			o = 1
		default:
			o = 2
		}
		m.revokeDuration.Record(ctx, e.Duration.Seconds(), m.byOutcome[o])
	}
}

// RecordSeal counts a seal under key id and epoch (keyring.UsageRecorder).
func (m *Metrics) RecordSeal(id, epoch uint32) { m.recordKey(keyUse{id, epoch, true}) }

// RecordOpen counts an open under key id and epoch (keyring.UsageRecorder).
func (m *Metrics) RecordOpen(id, epoch uint32) { m.recordKey(keyUse{id, epoch, false}) }

func (m *Metrics) recordKey(k keyUse) {
	opt, ok := m.keys.Load(k)
	if !ok {
		op := "open"
		if k.seal {
			op = "seal"
		}
		opt, _ = m.keys.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(
			attribute.String(attrKeyID, strconv.FormatUint(uint64(k.id), 10)),
			attribute.String(attrEpoch, strconv.FormatUint(uint64(k.epoch), 10)),
			attribute.String(attrOperation, op))))
	}
	m.keyUsage.Add(context.Background(), 1, opt.(metric.AddOption))
}

// ObserveRevokeList registers gauges for an in-memory revocation list
// ([revoke.Memory]'s Stats): entries, limit, and revocations refused because
// it was full. Unregister with the returned Registration. Register one
// list source per [Metrics]: ObserveRevokeList or ObserveRevokeCache (both
// report [NameRevokeEntries]).
func (m *Metrics) ObserveRevokeList(stats func() revoke.MemoryStats) (metric.Registration, error) {
	entries, e1 := m.meter.Int64ObservableGauge(NameRevokeEntries, metric.WithDescription("Revocation entries held."), metric.WithUnit("{entry}"))
	limit, e2 := m.meter.Int64ObservableGauge(NameRevokeLimit, metric.WithDescription("Cap on revocation entries; 0 means none."), metric.WithUnit("{entry}"))
	full, e3 := m.meter.Int64ObservableCounter(NameRevokeFull, metric.WithDescription("Revocations refused because the list was full."), metric.WithUnit("{revocation}"))
	if err := errors.Join(e1, e2, e3); err != nil {
		return nil, err
	}
	return m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		o.ObserveInt64(entries, int64(s.Entries))
		o.ObserveInt64(limit, int64(s.MaxEntries))
		o.ObserveInt64(full, int64(s.Rejected))
		return nil
	}, entries, limit, full)
}

// ObserveRevokeCache registers gauges for a revocation cache, such as
// revoke/redis's Cached (pass cached.Stats): entries, malformed entries,
// staleness (the age of the last confirmation, the number to alert on),
// loads, load failures, last load's duration and resubscriptions. It
// takes a [revoke.CacheStats], so this module does not import revoke/redis
// and brings no Redis client to a program that uses none.
func (m *Metrics) ObserveRevokeCache(stats func() revoke.CacheStats) (metric.Registration, error) {
	entries, e1 := m.meter.Int64ObservableGauge(NameRevokeEntries, metric.WithDescription("Revocation entries held."), metric.WithUnit("{entry}"))
	bad, e2 := m.meter.Int64ObservableGauge(NameRevokeMalformed, metric.WithDescription("Revocation entries that did not parse (held as revoked)."), metric.WithUnit("{entry}"))
	stale, e3 := m.meter.Float64ObservableGauge(NameRevokeStaleness, metric.WithDescription("Age of the cache's last confirmation by Redis; -1 before the first load."), metric.WithUnit("s"))
	loads, e4 := m.meter.Int64ObservableCounter(NameRevokeLoads, metric.WithDescription("Completed full loads."), metric.WithUnit("{load}"))
	fails, e5 := m.meter.Int64ObservableCounter(NameRevokeLoadFail, metric.WithDescription("Failed load attempts."), metric.WithUnit("{load}"))
	ltime, e6 := m.meter.Float64ObservableGauge(NameRevokeLoadTime, metric.WithDescription("Wall time of the last completed full load."), metric.WithUnit("s"))
	resubs, e7 := m.meter.Int64ObservableCounter(NameRevokeResubs, metric.WithDescription("Times the subscription was re-established."), metric.WithUnit("{subscription}"))
	if err := errors.Join(e1, e2, e3, e4, e5, e6, e7); err != nil {
		return nil, err
	}
	return m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		o.ObserveInt64(entries, int64(s.Entries))
		o.ObserveInt64(bad, int64(s.Malformed))
		st := -1.0
		if s.Staleness >= 0 {
			st = s.Staleness.Seconds()
		}
		o.ObserveFloat64(stale, st)
		o.ObserveInt64(loads, int64(s.Loads))
		o.ObserveInt64(fails, int64(s.LoadFailures))
		o.ObserveFloat64(ltime, s.LastLoadDuration.Seconds())
		o.ObserveInt64(resubs, int64(s.Resubscriptions))
		return nil
	}, entries, bad, stale, loads, fails, ltime, resubs)
}

// Windows are the windows ObserveActive reports, by attribute value.
var Windows = []struct {
	Name string
	D    time.Duration
}{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"1d", 24 * time.Hour}}

// ActiveSource returns the estimated distinct sessions and subjects over
// a window ending now. The Redis Tracker's Count (revoke/redis/active) is
// one; [CounterSource] adapts one instance's [active.Counter].
type ActiveSource func(ctx context.Context, window time.Duration) (active.Counts, error)

// CounterSource is the [ActiveSource] of one instance's [active.Counter].
func CounterSource(c *active.Counter) ActiveSource {
	return func(_ context.Context, w time.Duration) (active.Counts, error) {
		return c.Count(w)
	}
}

// ObserveActive registers the active-session gauges, by window (5m, 1h,
// 1d), from count: CounterSource(counter) for one instance, tracker.Count
// for the fleet's Redis Tracker (each collection then costs one PFCOUNT
// round trip per window). A window whose count fails is not reported.
func (m *Metrics) ObserveActive(count ActiveSource) (metric.Registration, error) {
	sess, e1 := m.meter.Float64ObservableGauge(NameActiveSessions, metric.WithDescription("Estimated distinct active sessions over the window (HyperLogLog, 0.81% std error)."), metric.WithUnit("{session}"))
	subs, e2 := m.meter.Float64ObservableGauge(NameActiveSubjects, metric.WithDescription("Estimated distinct active subjects (users) over the window."), metric.WithUnit("{subject}"))
	if err := errors.Join(e1, e2); err != nil {
		return nil, err
	}
	opts := make([]metric.ObserveOption, len(Windows))
	for i, w := range Windows {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String(attrWindow, w.Name)))
	}
	return m.meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		for i, w := range Windows {
			n, err := count(ctx, w.D)
			if err != nil {
				continue
			}
			o.ObserveFloat64(sess, n.Sessions, opts[i])
			o.ObserveFloat64(subs, n.Subjects, opts[i])
		}
		return nil
	}, sess, subs)
}

var (
	_ middleware.Observer = (*Metrics)(nil)
)
