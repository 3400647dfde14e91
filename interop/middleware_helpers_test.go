package interop_test

// Fixtures of the session-manager tests that live here (they need
// gorilla/sessions, chi or cookie/gorilla, which the root module does not
// require); the shared ones come from the public sessiontest and
// internal/sessiontest.

import (
	"time"

	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// Shared fixtures: the same in middleware's tests.
type clock = sessiontest.Clock

var (
	newClock    = sessiontest.NewClock
	testKeyring = fixtures.Keyring
	newManager  = fixtures.ManagerOn
	do          = fixtures.Do
	setCookies  = fixtures.SetCookies
	app         = fixtures.App
)

// clockAt returns a clock at t.
func clockAt(t time.Time) *clock {
	c := sessiontest.NewClock()
	c.Set(t)
	return c
}

// jar keeps the cookies a test client holds, applying Set-Cookie.
type jar = fixtures.Jar
