package cookie_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// A program switches on why a value was refused; errors.Is still
// matches the sentinel.
func ExampleReasonOf() {
	kr, _ := keyring.Generate()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c, _ := cookie.New(kr, "session", cookie.Options{IdleTimeout: time.Hour, Now: clock})
	v, _ := c.Seal([]byte(`{}`), time.Time{})

	now = now.Add(2 * time.Hour)
	_, _, err := c.Open(v)
	fmt.Println(errors.Is(err, cookie.ErrExpired), cookie.ReasonOf(err))

	_, _, err = c.Open("garbage")
	switch cookie.ReasonOf(err) {
	case cookie.ReasonUnknownKey, cookie.ReasonEpochOutOfWindow:
		fmt.Println("page the operator")
	default:
		fmt.Println("client junk:", cookie.ReasonOf(err))
	}
	// Output:
	// true idle_expired
	// client junk: malformed
}
