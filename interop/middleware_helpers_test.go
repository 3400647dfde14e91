package interop_test

// Fixtures of the session-manager tests that live here (they need
// gorilla/sessions, chi or cookie/gorilla, which the root module does not
// require); the shared ones come from internal/sessiontest.

import (
	"github.com/cookieseal/cookieseal/internal/sessiontest"
)

// Shared fixtures (internal/sessiontest): the same in middleware's tests.
type clock = sessiontest.Clock

var (
	newClock    = sessiontest.NewClock
	testKeyring = sessiontest.Keyring
	newManager  = sessiontest.NewManager
	do          = sessiontest.Do
	setCookies  = sessiontest.SetCookies
	app         = sessiontest.App
)

// jar keeps the cookies a test client holds, applying Set-Cookie.
type jar = sessiontest.Jar
