// Package revoketest checks that a [revoke.Revoker] keeps the contract that
// package revoke documents, so that the session manager can rely on it.
// [Run] it from a test of your own store:
//
//	func TestRevoker(t *testing.T) {
//		revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
//			return mystore.New(freshTable(t), mystore.Options{Now: now})
//		})
//	}
//
// Run calls the constructor once per check, each time with a clock of its
// own that it moves by hand (no check sleeps), and checks:
//
//   - a revoked session is revoked, and nothing else is: not its other
//     sessions, not another subject's, not a session without subject;
//   - RevokeSubject cuts at the millisecond: a session issued in an
//     earlier millisecond than before is revoked, one issued in the same
//     millisecond or later is not ([revoke.IssuedBefore]), whatever the
//     store's own clock says (the writer's clock may be ahead of or
//     behind the store's);
//   - an entry counts until its until and not after, by the injected
//     clock; an until already passed is a no-op;
//   - revoking again never weakens an entry: the later before and the
//     later until are kept, together;
//   - ids and subjects are opaque: any bytes, compared exactly, with no
//     two sessions or subjects confused however a store joins or escapes
//     them;
//   - invalid arguments fail with [revoke.ErrInvalidArgument] and write
//     nothing;
//   - a context that is done is honoured: a call returns an error
//     matching ctx.Err() or does its work in full (a store that never
//     waits may ignore ctx), and never answers wrongly;
//   - concurrent use is safe and loses no revocation (run with -race).
//
// Faults (a store that is down) are the store's own to test: the contract
// only says that a fault is an error that does not match [revoke.ErrRevoked].
package revoketest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/revoke"
)

// Run checks the Revoker that newRevoker returns against the contract of
// package revoke, each check in a subtest of t.
//
// newRevoker must return a Revoker on an empty list that no other call
// shares (a fresh key prefix, database or table: the checks use the same
// ids), whose clock is now. It is called with the subtest's t, so it may
// use t.Cleanup to stop a background loop and t.Fatal on setup errors. A
// Revoker that must load before it answers (a cache) should have loaded
// when newRevoker returns, and should not go stale within a day of now's
// time: the checks move now by up to 25 hours.
func Run(t *testing.T, newRevoker func(t *testing.T, now func() time.Time) revoke.Revoker) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			rv := newRevoker(t, clk.Now)
			if rv == nil {
				t.Fatal("revoketest: newRevoker returned nil")
			}
			c.fn(t, &suite{t: t, rv: rv, clk: clk})
		})
	}
}

// checks are Run's subtests, in order.
var checks = []struct {
	name string
	fn   func(*testing.T, *suite)
}{
	{"EmptyList", checkEmpty},
	{"RevokeSession", checkRevokeSession},
	{"RevokeSessionUntil", checkSessionUntil},
	{"RevokeSessionKeepsLaterUntil", checkSessionKeepsLaterUntil},
	{"RevokeSubjectMillisecondCut", checkSubjectCut},
	{"RevokeSubjectBeforeIsTheCallersTime", checkSubjectBeforeAsGiven},
	{"RevokeSubjectOnlyThatSubject", checkSubjectOnlyThatSubject},
	{"RevokeSubjectUntil", checkSubjectUntil},
	{"RevokeSubjectKeepsTheMax", checkSubjectKeepsMax},
	{"SessionAndSubjectEntriesApart", checkEntriesApart},
	{"OpaqueIDsAndSubjects", checkOpaque},
	{"InvalidArguments", checkInvalid},
	{"DoneContext", checkDoneContext},
	{"Concurrent", checkConcurrent},
}

// start is the clock's time at the start of each check: on a millisecond,
// so that the checks name millisecond boundaries exactly.
var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is the injected clock: settable, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(start.UnixNano())
	return c
}

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// suite is one check's Revoker and clock, with assertions that name the
// call that broke the contract.
type suite struct {
	t   *testing.T
	rv  revoke.Revoker
	clk *clock
}

func ref(id, subject string, issuedAt time.Time) revoke.SessionRef {
	return revoke.SessionRef{ID: id, Subject: subject, IssuedAt: issuedAt}
}

func (s *suite) revokeSession(id, subject string, until time.Time) {
	s.t.Helper()
	if err := s.rv.RevokeSession(context.Background(), id, subject, until); err != nil {
		s.t.Fatalf("RevokeSession(%q, %q, %v) = %v; want nil", id, subject, until, err)
	}
}

func (s *suite) revokeSubject(subject string, before, until time.Time) {
	s.t.Helper()
	if err := s.rv.RevokeSubject(context.Background(), subject, before, until); err != nil {
		s.t.Fatalf("RevokeSubject(%q, %v, %v) = %v; want nil", subject, before, until, err)
	}
}

// expect checks that Check answers revoked (an error matching
// revoke.ErrRevoked) or not (nil), and nothing else.
func (s *suite) expect(r revoke.SessionRef, revoked bool, why string) {
	s.t.Helper()
	err := s.rv.Check(context.Background(), r)
	switch {
	case revoked && !errors.Is(err, revoke.ErrRevoked):
		s.t.Errorf("%s: Check(%+v) at %v = %v; want an error matching revoke.ErrRevoked", why, r, s.clk.Now(), err)
	case !revoked && err != nil:
		s.t.Errorf("%s: Check(%+v) at %v = %v; want nil", why, r, s.clk.Now(), err)
	}
}

func checkEmpty(t *testing.T, s *suite) {
	s.expect(ref("id1", "alice", start.Add(-time.Hour)), false, "empty list, with subject")
	s.expect(ref("id1", "", start.Add(-time.Hour)), false, "empty list, without subject")
}

func checkRevokeSession(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	s.revokeSession("id1", "alice", day)
	s.revokeSession("anon", "", day)
	for _, issued := range []time.Time{start.Add(-time.Hour), start, start.Add(time.Hour)} {
		s.expect(ref("id1", "alice", issued), true, "the revoked session, whenever issued")
		s.expect(ref("anon", "", issued), true, "the revoked session without subject")
	}
	s.expect(ref("id2", "alice", start.Add(-time.Hour)), false, "another session of the subject")
	s.expect(ref("id1x", "alice", start.Add(-time.Hour)), false, "an id that extends the revoked one")
	s.expect(ref("id", "alice", start.Add(-time.Hour)), false, "an id that is a prefix of the revoked one")
	s.expect(ref("anon2", "", start.Add(-time.Hour)), false, "another session without subject")
	// Revoking again (a retried logout) is fine and changes nothing.
	s.revokeSession("id1", "alice", day)
	s.expect(ref("id1", "alice", start), true, "the session revoked twice")
}

func checkSessionUntil(t *testing.T, s *suite) {
	until := start.Add(time.Hour)
	s.revokeSession("id1", "alice", until)
	// An until off the millisecond: the entry may end at the start of
	// its millisecond, not sooner.
	odd := start.Add(time.Hour + 500*time.Microsecond)
	s.revokeSession("id2", "alice", odd)
	// Untils already passed (or now) are no-ops that succeed.
	s.revokeSession("past", "alice", start.Add(-time.Millisecond))
	s.revokeSession("now", "alice", start)
	s.expect(ref("past", "alice", start), false, "until already passed")
	s.expect(ref("now", "alice", start), false, "until equal to now")

	s.clk.set(until.Add(-time.Millisecond))
	s.expect(ref("id1", "alice", start), true, "1ms before until")
	s.expect(ref("id2", "alice", start), true, "1ms before until's millisecond")
	s.clk.set(until)
	s.expect(ref("id1", "alice", start), false, "at until")
	s.clk.set(odd)
	s.expect(ref("id2", "alice", start), false, "at an until off the millisecond")
	s.clk.add(24 * time.Hour)
	s.expect(ref("id1", "alice", start), false, "a day after until")
}

func checkSessionKeepsLaterUntil(t *testing.T, s *suite) {
	s.revokeSession("long-first", "alice", start.Add(2*time.Hour))
	s.revokeSession("long-first", "alice", start.Add(time.Hour))
	s.revokeSession("short-first", "alice", start.Add(time.Hour))
	s.revokeSession("short-first", "alice", start.Add(2*time.Hour))
	s.clk.set(start.Add(90 * time.Minute))
	s.expect(ref("long-first", "alice", start), true, "a shorter until later does not shorten the entry")
	s.expect(ref("short-first", "alice", start), true, "a longer until later extends the entry")
	s.clk.set(start.Add(2 * time.Hour))
	s.expect(ref("long-first", "alice", start), false, "at the longer until")
}

func checkSubjectCut(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	before := start // on a millisecond
	s.revokeSubject("alice", before, day)
	odd := start.Add(time.Hour + 500*time.Microsecond) // 11:00:00.0005
	s.revokeSubject("bob", odd, day)
	mid := start.Add(2*time.Hour + 250*time.Millisecond) // 12:00:00.250, inside a second
	s.revokeSubject("carol", mid, day)
	tests := []struct {
		subject string
		before  time.Time
		issued  time.Time
		why     string
	}{
		{"alice", before, before.Add(-24 * time.Hour), "issued a day before"},
		{"alice", before, before.Add(-time.Millisecond), "issued 1ms before"},
		{"alice", before, before.Add(-time.Nanosecond), "issued 1ns before, in the previous millisecond"},
		{"alice", before, before, "issued at before"},
		{"alice", before, before.Add(999 * time.Microsecond), "issued later in before's millisecond"},
		{"alice", before, before.Add(time.Millisecond), "issued 1ms after"},
		{"alice", before, before.Add(time.Hour), "issued an hour after"},
		{"bob", odd, odd.Add(-500 * time.Microsecond), "before off the millisecond, issued earlier in its millisecond"},
		{"bob", odd, odd.Add(-501 * time.Microsecond), "before off the millisecond, issued in the previous millisecond"},
		{"bob", odd, odd.Add(-time.Nanosecond), "before off the millisecond, issued 1ns before it"},
		{"carol", mid, mid.Add(-time.Millisecond), "before inside a second, issued 1ms before, in the same second"},
		{"carol", mid, mid.Add(-250 * time.Millisecond), "before inside a second, issued at the start of that second"},
		{"carol", mid, mid, "before inside a second, issued at before"},
	}
	for _, tt := range tests {
		want := revoke.IssuedBefore(tt.issued, tt.before)
		s.expect(ref("x", tt.subject, tt.issued), want, fmt.Sprintf("%s (revoked: %v)", tt.why, want))
	}
	s.expect(ref("x", "", before.Add(-time.Hour)), false, "a session without subject")
}

// checkSubjectBeforeAsGiven: before is the caller's time (the instance
// that revoked), compared as given, whatever the store's clock says: a
// writer whose clock is ahead of the store's, or behind it, cuts where it
// said.
func checkSubjectBeforeAsGiven(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	ahead, behind := start.Add(5*time.Second), start.Add(-5*time.Second)
	s.revokeSubject("ahead", ahead, day)
	s.revokeSubject("behind", behind, day)
	s.expect(ref("x", "ahead", ahead.Add(-time.Millisecond)), true, "writer 5s ahead: issued just before its before, after the store's now")
	s.expect(ref("x", "ahead", ahead), false, "writer 5s ahead: issued at its before")
	s.expect(ref("x", "behind", behind.Add(-time.Millisecond)), true, "writer 5s behind: issued just before its before")
	s.expect(ref("x", "behind", behind), false, "writer 5s behind: issued at its before, before the store's now")
}

func checkSubjectOnlyThatSubject(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	s.revokeSubject("alice", start, day)
	s.revokeSubject("a:b", start, day)
	old := start.Add(-time.Hour)
	s.expect(ref("x", "alice", old), true, "the revoked subject")
	s.expect(ref("x", "a:b", old), true, "the revoked subject with ':'")
	for _, other := range []string{"bob", "alic", "alice2", "Alice", "alice ", "a", "b", "a:b:c", "a%3Ab", "a%3ab", "a:", ":b", "a::b"} {
		s.expect(ref("x", other, old), false, fmt.Sprintf("subject %q, not revoked", other))
	}
	s.expect(ref("alice", "", old), false, "a session without subject whose id is the subject")
}

func checkSubjectUntil(t *testing.T, s *suite) {
	until := start.Add(time.Hour)
	s.revokeSubject("alice", start, until)
	s.revokeSubject("past", start, start.Add(-time.Millisecond))
	s.revokeSubject("now", start, start)
	old := start.Add(-time.Minute)
	s.expect(ref("x", "past", old), false, "until already passed")
	s.expect(ref("x", "now", old), false, "until equal to now")
	s.clk.set(until.Add(-time.Millisecond))
	s.expect(ref("x", "alice", old), true, "1ms before until")
	s.clk.set(until)
	s.expect(ref("x", "alice", old), false, "at until")
}

func checkSubjectKeepsMax(t *testing.T, s *suite) {
	hour, two := start.Add(time.Hour), start.Add(2*time.Hour)
	// An earlier before does not weaken; a later one strengthens.
	s.revokeSubject("weaken", start, two)
	s.revokeSubject("weaken", start.Add(-time.Hour), two)
	s.revokeSubject("strengthen", start.Add(-time.Hour), two)
	s.revokeSubject("strengthen", start, two)
	// A shorter until does not shorten; a longer one extends, and the
	// entry keeps the later before with it.
	s.revokeSubject("shorten", start, two)
	s.revokeSubject("shorten", start, hour)
	s.revokeSubject("extend", start, hour)
	s.revokeSubject("extend", start.Add(-time.Hour), two)
	s.revokeSubject("extend-later", start.Add(-time.Hour), hour)
	s.revokeSubject("extend-later", start, two)

	mid := start.Add(-30 * time.Minute) // issued between the two befores
	s.expect(ref("x", "weaken", mid), true, "an earlier before later does not weaken the entry")
	s.expect(ref("x", "strengthen", mid), true, "a later before later strengthens the entry")
	s.clk.set(start.Add(90 * time.Minute))
	s.expect(ref("x", "shorten", mid), true, "a shorter until later does not shorten the entry")
	s.expect(ref("x", "extend", mid), true, "a longer until with an earlier before keeps the later before")
	s.expect(ref("x", "extend-later", mid), true, "a longer until with a later before takes both")
	s.clk.set(two)
	s.expect(ref("x", "extend", mid), false, "at the longer until")
}

func checkEntriesApart(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	s.revokeSession("id1", "alice", day)
	s.revokeSubject("alice", start.Add(-time.Hour), start.Add(time.Hour))
	s.expect(ref("id1", "alice", start), true, "a revoked session issued after its subject's before")
	s.expect(ref("id2", "alice", start.Add(-2*time.Hour)), true, "a session cut by its subject's entry")
	s.expect(ref("id2", "alice", start), false, "a session after the subject's before")
	s.clk.set(start.Add(time.Hour))
	s.expect(ref("id1", "alice", start), true, "the session entry outlives the subject's")
	s.expect(ref("id2", "alice", start.Add(-2*time.Hour)), false, "the subject's entry has ended")
}

// checkOpaque: ids and subjects are any bytes, compared exactly. A
// session entry names a session by its id, and may also require the
// subject to match (the Revokers in this module do): so the pairs below
// that must not be revoked have ids that no revoked pair has, and the
// subjects that must not be confused are checked as subject entries.
func checkOpaque(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	old := start.Add(-time.Hour)
	long := strings.Repeat("x", 1024)
	// Pairs whose subject and id, joined with a separator, read alike.
	revoked := []struct{ subject, id string }{
		{"a", "b:c"},
		{"", "a:b"},
		{"a%3A", "x"},
		{"{x}", "}y{"},
		{"nul\x00byte", "id\x00"},
		{"\xff\xfe", "\xc3\x28"},
		{"ünïcødé 用户", "séssion"},
		{long, long},
	}
	confused := []struct{ subject, id string }{
		{"a:b", "c"},
		{"a", "b"},
		{"", ":a:b"},
		{"", "a"},
		{"{x}}", "y{"},
		{"nul", "byte:id\x00"},
		{"nul\x00byte", "id"},
		{"\xff", "\xfe:\xc3\x28"},
		{long, long[1:]},
		{long, long + "x"},
	}
	for _, p := range revoked {
		s.revokeSession(p.id, p.subject, day)
	}
	for _, p := range revoked {
		s.expect(ref(p.id, p.subject, old), true, fmt.Sprintf("revoked pair (%q, %q)", trim(p.subject), trim(p.id)))
	}
	for _, p := range confused {
		s.expect(ref(p.id, p.subject, old), false, fmt.Sprintf("pair (%q, %q), not revoked", trim(p.subject), trim(p.id)))
	}
	subjects := []string{"a", "a%3A", "nul\x00byte", "ünïcødé 用户", long}
	for _, subject := range subjects {
		s.revokeSubject(subject, start, day)
	}
	for _, subject := range subjects {
		s.expect(ref("other", subject, old), true, fmt.Sprintf("revoked subject %q", trim(subject)))
	}
	for _, subject := range []string{"a:", "a%", "a%3a", "a%253A", "A", "nul", "nul\x00", "ünïcødé", long[1:], long + "x"} {
		s.expect(ref("other", subject, old), false, fmt.Sprintf("subject %q, not revoked", trim(subject)))
	}
}

func trim(s string) string {
	if len(s) > 20 {
		return s[:20] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

func checkInvalid(t *testing.T, s *suite) {
	ctx := context.Background()
	day := start.Add(24 * time.Hour)
	tests := []struct {
		name string
		call func() error
		// after: a session that the call, had it written anything, would
		// have revoked.
		after revoke.SessionRef
	}{
		{"Check with an empty id", func() error { return s.rv.Check(ctx, ref("", "alice", start)) }, ref("id", "alice", start)},
		{"RevokeSession with an empty id", func() error { return s.rv.RevokeSession(ctx, "", "alice", day) }, ref("", "alice", start)},
		{"RevokeSession with a zero until", func() error { return s.rv.RevokeSession(ctx, "id1", "alice", time.Time{}) }, ref("id1", "alice", start)},
		{"RevokeSubject with an empty subject", func() error { return s.rv.RevokeSubject(ctx, "", start, day) }, ref("id", "", start.Add(-time.Hour))},
		{"RevokeSubject with a zero before", func() error { return s.rv.RevokeSubject(ctx, "bob", time.Time{}, day) }, ref("id", "bob", time.Time{}.Add(-time.Hour))},
		{"RevokeSubject with a zero until", func() error { return s.rv.RevokeSubject(ctx, "carol", start, time.Time{}) }, ref("id", "carol", start.Add(-time.Hour))},
	}
	for _, tt := range tests {
		err := tt.call()
		if !errors.Is(err, revoke.ErrInvalidArgument) || errors.Is(err, revoke.ErrRevoked) {
			t.Errorf("%s = %v; want an error matching revoke.ErrInvalidArgument and not revoke.ErrRevoked", tt.name, err)
		}
		if tt.after.ID != "" {
			s.expect(tt.after, false, tt.name+" wrote nothing")
		}
	}
}

// checkDoneContext: with a context already canceled, or past its
// deadline, each call either fails with an error matching ctx.Err() or
// does its work in full; it never answers wrongly, and never claims a
// revocation it did not make.
func checkDoneContext(t *testing.T, s *suite) {
	day := start.Add(24 * time.Hour)
	s.revokeSession("revoked", "alice", day)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"canceled", canceled}, {"past its deadline", expired}} {
		done := func(call string, err error) bool {
			t.Helper()
			if err == nil {
				return false
			}
			if !errors.Is(err, c.ctx.Err()) || errors.Is(err, revoke.ErrRevoked) {
				t.Errorf("%s with a context %s = %v; want nil, or an error matching %v (and not revoke.ErrRevoked)", call, c.name, err, c.ctx.Err())
			}
			return true
		}
		id := "new-" + strings.ReplaceAll(c.name, " ", "-")
		began := time.Now()
		switch err := s.rv.Check(c.ctx, ref("revoked", "alice", start)); {
		case err == nil:
			t.Errorf("Check of a revoked session with a context %s = nil; a revoked session never reads as not revoked", c.name)
		case !errors.Is(err, revoke.ErrRevoked):
			done("Check of a revoked session", err)
		}
		if err := s.rv.Check(c.ctx, ref("fresh", "alice", start)); err != nil {
			done("Check of a session not revoked", err)
		}
		if err := s.rv.RevokeSession(c.ctx, id, "alice", day); !done("RevokeSession", err) {
			s.expect(ref(id, "alice", start), true, "RevokeSession returned nil with a context "+c.name)
		}
		if err := s.rv.RevokeSubject(c.ctx, id, start, day); !done("RevokeSubject", err) {
			s.expect(ref("x", id, start.Add(-time.Hour)), true, "RevokeSubject returned nil with a context "+c.name)
		}
		if took := time.Since(began); took > 5*time.Second {
			t.Errorf("four calls with a context %s took %v; a done context must end a call promptly", c.name, took)
		}
	}
}

// checkConcurrent: revocations and checks from many goroutines at once
// lose nothing and confuse nothing; concurrent RevokeSubject calls on one
// subject keep the latest before, whatever the order they land in.
func checkConcurrent(t *testing.T, s *suite) {
	const workers, rounds = 8, 20
	ctx := context.Background()
	day := start.Add(24 * time.Hour)
	s.revokeSession("pinned", "shared", day)
	for i := range rounds {
		// Each round, the workers start together: each revokes a session
		// of its own and subject racer-i with a before of its own (the
		// latest must win), and checks.
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-gate
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.rv.RevokeSession(ctx, id, "shared", day); err != nil {
					t.Errorf("RevokeSession(%q): %v", id, err)
				}
				before := start.Add(time.Duration(w+1) * time.Millisecond)
				if err := s.rv.RevokeSubject(ctx, fmt.Sprint("racer-", i), before, day); err != nil {
					t.Errorf("RevokeSubject: %v", err)
				}
				if err := s.rv.Check(ctx, ref("pinned", "shared", start)); !errors.Is(err, revoke.ErrRevoked) {
					t.Errorf("concurrent Check of a revoked session = %v", err)
				}
				if err := s.rv.Check(ctx, ref("never-"+id, "shared", start)); err != nil {
					t.Errorf("concurrent Check of a session not revoked = %v", err)
				}
			})
		}
		close(gate)
		wg.Wait()
	}
	latest := start.Add(workers * time.Millisecond)
	for i := range rounds {
		for w := range workers {
			s.expect(ref(fmt.Sprintf("w%d-%d", w, i), "shared", start), true, "a session revoked concurrently")
		}
		subject := fmt.Sprint("racer-", i)
		s.expect(ref("x", subject, latest.Add(-time.Millisecond)), true, "concurrent RevokeSubject on "+subject+": issued before the latest before")
		s.expect(ref("x", subject, latest), false, "concurrent RevokeSubject on "+subject+": issued at the latest before")
	}
}
