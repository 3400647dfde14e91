package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/revoke"
)

func ExampleMemory() {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rv := revoke.NewMemory(revoke.MemoryOptions{Now: func() time.Time { return now }})

	s := revoke.SessionRef{ID: "mM2cW1n0b3XaQf7e1kR9Zg", Subject: "user-42", IssuedAt: now.Add(-time.Hour)}
	fmt.Println("before logout:", rv.Check(ctx, s))

	// Logout: revoke this one session until its absolute deadline.
	deadline := s.IssuedAt.Add(24 * time.Hour)
	if err := rv.RevokeSession(ctx, s.ID, s.Subject, deadline); err != nil {
		fmt.Println(err)
	}
	err := rv.Check(ctx, s)
	fmt.Println("after logout:", err, errors.Is(err, revoke.ErrRevoked))
	// Output:
	// before logout: <nil>
	// after logout: revoke: session revoked true
}

func ExampleMemory_RevokeSubject() {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rv := revoke.NewMemory(revoke.MemoryOptions{Now: func() time.Time { return now }})
	const absoluteTimeout = 24 * time.Hour

	// Password change: every session of user-42 issued before now is revoked;
	// the entry is forgotten when the last of them would have expired.
	if err := rv.RevokeSubject(ctx, "user-42", now, now.Add(absoluteTimeout)); err != nil {
		fmt.Println(err)
	}
	old := revoke.SessionRef{ID: "old", Subject: "user-42", IssuedAt: now.Add(-time.Minute)}
	fresh := revoke.SessionRef{ID: "fresh", Subject: "user-42", IssuedAt: now}
	other := revoke.SessionRef{ID: "other", Subject: "user-7", IssuedAt: now.Add(-time.Minute)}
	fmt.Println("old:", rv.Check(ctx, old))
	fmt.Println("fresh:", rv.Check(ctx, fresh))
	fmt.Println("other user:", rv.Check(ctx, other))
	// Output:
	// old: revoke: session revoked
	// fresh: <nil>
	// other user: <nil>
}

func ExampleIssuedBefore() {
	before := time.Date(2025, 6, 1, 12, 0, 0, 500_000, time.UTC) // 12:00:00.0005
	sameMilli := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	earlierMilli := sameMilli.Add(-time.Millisecond)
	fmt.Println(revoke.IssuedBefore(sameMilli, before))
	fmt.Println(revoke.IssuedBefore(earlierMilli, before))
	// Output:
	// false
	// true
}

// A capped list refuses a new revocation rather than forget a live one;
// Stats shows why.
func ExampleMemory_Stats() {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rv := revoke.NewMemory(revoke.MemoryOptions{MaxEntries: 2, Now: func() time.Time { return now }})
	until := now.Add(24 * time.Hour)
	for _, id := range []string{"a", "b", "c"} {
		err := rv.RevokeSession(ctx, id, "user-42", until)
		fmt.Println(id, err, errors.Is(err, revoke.ErrFull))
	}
	fmt.Printf("%+v\n", rv.Stats())
	// Output:
	// a <nil> false
	// b <nil> false
	// c revoke: revocation list full: 2 live entries, MaxEntries 2 true
	// {Entries:2 MaxEntries:2 Rejected:1}
}
