package revoketest_test

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/revoketest"
)

// TestMemory is how a store's own test runs the suite; here the store is
// revoke.Memory.
func TestMemory(t *testing.T) {
	revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
		return revoke.NewMemory(revoke.MemoryOptions{Now: now})
	})
}

// TestCappedMemory: a capped Memory keeps the contract while it has room.
func TestCappedMemory(t *testing.T) {
	revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
		return revoke.NewMemory(revoke.MemoryOptions{Now: now, MaxEntries: 1000})
	})
}

// TestPlainStore: a store written from the contract alone, as a user's
// would be (matching session entries on the id only, ignoring ctx),
// passes: the suite asks for the contract, not for Memory's choices.
func TestPlainStore(t *testing.T) {
	revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
		return newPlain(now, "")
	})
}

// bugs are contract breaches that the suite must catch, each with the
// check that must fail.
var bugs = []struct {
	name, check string
}{
	{"no-session-entries", "RevokeSession"},
	{"no-subject-entries", "RevokeSubjectMillisecondCut"},
	{"cut-at-the-second", "RevokeSubjectMillisecondCut"},
	{"cut-at-the-nanosecond", "RevokeSubjectMillisecondCut"},
	{"cut-inclusive", "RevokeSubjectMillisecondCut"},
	{"before-from-the-store-clock", "RevokeSubjectBeforeIsTheCallersTime"},
	{"subject-prefix-match", "RevokeSubjectOnlyThatSubject"},
	{"subject-case-folded", "OpaqueIDsAndSubjects"},
	{"subject-entry-matches-id", "RevokeSubjectOnlyThatSubject"},
	{"never-expires", "RevokeSessionUntil"},
	{"expires-early", "RevokeSessionUntil"},
	{"real-clock", "RevokeSessionUntil"},
	{"session-until-overwritten", "RevokeSessionKeepsLaterUntil"},
	{"subject-before-overwritten", "RevokeSubjectKeepsTheMax"},
	{"subject-until-overwritten", "RevokeSubjectKeepsTheMax"},
	{"subject-max-kept-apart", "RevokeSubjectKeepsTheMax"},
	{"unescaped-join", "OpaqueIDsAndSubjects"},
	{"accepts-empty-id", "InvalidArguments"},
	{"accepts-zero-until", "InvalidArguments"},
	{"accepts-zero-before", "InvalidArguments"},
	{"invalid-is-revoked", "InvalidArguments"},
	{"done-context-false-success", "DoneContext"},
	{"done-context-own-error", "DoneContext"},
	{"done-context-check-says-nil", "DoneContext"},
	{"lost-concurrent-writes", "Concurrent"},
}

// TestSuiteCatchesBrokenStores runs the suite against a store with each
// bug, in a child process (the suite fails its *testing.T), and checks
// that the check named for the bug fails.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStore$", "-test.v")
			cmd.Env = append(os.Environ(), "REVOKETEST_BUG="+b.name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with bug %s:\n%s", b.name, out)
			}
			if !regexp.MustCompile(`--- FAIL: TestBrokenStore/` + b.check + ` `).Match(out) {
				t.Fatalf("check %s did not fail for bug %s:\n%s", b.check, b.name, out)
			}
		})
	}
}

// TestBrokenStore is run by TestSuiteCatchesBrokenStores.
func TestBrokenStore(t *testing.T) {
	bug := os.Getenv("REVOKETEST_BUG")
	if bug == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores")
	}
	revoketest.Run(t, func(t *testing.T, now func() time.Time) revoke.Revoker {
		return newPlain(now, bug)
	})
}

// plain is a Revoker written from package revoke's contract alone, with
// one bug switched on by name ("" for none).
type plain struct {
	now func() time.Time
	bug string

	mu       sync.Mutex
	sessions map[string]time.Time // by id (or by joined pair, for unescaped-join)
	subjects map[string][2]time.Time
}

func newPlain(now func() time.Time, bug string) *plain {
	return &plain{now: now, bug: bug, sessions: map[string]time.Time{}, subjects: map[string][2]time.Time{}}
}

func (p *plain) sessionKey(id, subject string) string {
	if p.bug == "unescaped-join" {
		return subject + ":" + id
	}
	return id
}

func (p *plain) subjectKey(subject string) string {
	switch p.bug {
	case "subject-case-folded":
		return lower(subject)
	}
	return subject
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (p *plain) invalid(reason string) error {
	if p.bug == "invalid-is-revoked" {
		return revoke.ErrRevoked
	}
	return &argErr{reason}
}

type argErr struct{ reason string }

func (e *argErr) Error() string        { return "plain: invalid argument: " + e.reason }
func (e *argErr) Is(target error) bool { return target == revoke.ErrInvalidArgument }

func (p *plain) clock() time.Time {
	if p.bug == "real-clock" {
		return time.Now()
	}
	return p.now()
}

// done reports ctx's error, as a store that waits on I/O does.
func (p *plain) done(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if p.bug == "done-context-own-error" {
			return os.ErrDeadlineExceeded
		}
		return err
	}
	return nil
}

func (p *plain) Check(ctx context.Context, s revoke.SessionRef) error {
	if s.ID == "" {
		return p.invalid("empty id")
	}
	if ctx.Err() != nil && p.bug == "done-context-check-says-nil" {
		return nil
	}
	if err := p.done(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	live := func(until time.Time) bool {
		switch p.bug {
		case "never-expires":
			return true
		case "expires-early":
			return now.Before(until.Add(-time.Minute))
		}
		return now.Before(until)
	}
	if until, ok := p.sessions[p.sessionKey(s.ID, s.Subject)]; ok && live(until) {
		return revoke.ErrRevoked
	}
	if s.Subject == "" {
		if e, ok := p.subjects[s.ID]; ok && p.bug == "subject-entry-matches-id" && live(e[1]) {
			return revoke.ErrRevoked // one map for both kinds: id "alice" reads subject "alice"
		}
		return nil
	}
	for subject, e := range p.subjects {
		match := subject == p.subjectKey(s.Subject)
		if p.bug == "subject-prefix-match" {
			match = len(s.Subject) >= len(subject) && s.Subject[:len(subject)] == subject
		}
		if !match || !live(e[1]) {
			continue
		}
		var cut bool
		switch p.bug {
		case "cut-at-the-second":
			cut = s.IssuedAt.Unix() < e[0].Unix()
		case "cut-at-the-nanosecond":
			cut = s.IssuedAt.Before(e[0])
		case "cut-inclusive":
			cut = s.IssuedAt.UnixMilli() <= e[0].UnixMilli()
		default:
			cut = revoke.IssuedBefore(s.IssuedAt, e[0])
		}
		if cut {
			return revoke.ErrRevoked
		}
	}
	return nil
}

func (p *plain) RevokeSession(ctx context.Context, id, subject string, until time.Time) error {
	if id == "" && p.bug != "accepts-empty-id" {
		return p.invalid("empty id")
	}
	if until.IsZero() && p.bug != "accepts-zero-until" {
		return p.invalid("zero until")
	}
	if ctx.Err() != nil && p.bug == "done-context-false-success" {
		return nil
	}
	if err := p.done(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bug == "no-session-entries" || !until.After(p.clock()) {
		return nil
	}
	k := p.sessionKey(id, subject)
	if cur, ok := p.sessions[k]; !ok || until.After(cur) || p.bug == "session-until-overwritten" {
		p.sessions[k] = until
	}
	return nil
}

func (p *plain) RevokeSubject(ctx context.Context, subject string, before, until time.Time) error {
	if subject == "" {
		return p.invalid("empty subject")
	}
	if before.IsZero() && p.bug != "accepts-zero-before" {
		return p.invalid("zero before")
	}
	if until.IsZero() {
		return p.invalid("zero until")
	}
	if ctx.Err() != nil && p.bug == "done-context-false-success" {
		return nil
	}
	if err := p.done(ctx); err != nil {
		return err
	}
	if p.bug == "lost-concurrent-writes" {
		// Read, yield, write: a read-modify-write without the lock.
		p.mu.Lock()
		cur := p.subjects[subject]
		p.mu.Unlock()
		time.Sleep(time.Microsecond)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.subjects[subject] = [2]time.Time{later(cur[0], before), later(cur[1], until)}
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bug == "no-subject-entries" || !until.After(p.clock()) {
		return nil
	}
	if p.bug == "before-from-the-store-clock" {
		before = p.clock()
	}
	k := p.subjectKey(subject)
	cur, ok := p.subjects[k]
	switch {
	case !ok:
		p.subjects[k] = [2]time.Time{before, until}
	case p.bug == "subject-before-overwritten":
		p.subjects[k] = [2]time.Time{before, later(cur[1], until)}
	case p.bug == "subject-until-overwritten":
		p.subjects[k] = [2]time.Time{later(cur[0], before), until}
	case p.bug == "subject-max-kept-apart":
		// Keeps whichever entry has the later until, whole.
		if until.After(cur[1]) {
			p.subjects[k] = [2]time.Time{before, until}
		}
	default:
		p.subjects[k] = [2]time.Time{later(cur[0], before), later(cur[1], until)}
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
