package interop_test

// Fleet-rule fixtures of the session-manager tests that live here; the
// shared ones come from the public sessiontest and internal/sessiontest.

import (
	"sync"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// Shared fixtures: the same in middleware's tests.
var (
	errStoreDown     = sessiontest.ErrStoreDown
	newSwitchRevoker = fixtures.NewSwitchRevoker
	userApp          = fixtures.UserApp
)

// formats lists the wire formats every fleet rule is tested over.
var formats = []cookie.Format{cookie.Native, cookie.JWE}

// recorder is an Observer that collects the errors of rejected cookies
// (EventRejected).
type recorder struct {
	mu      sync.Mutex
	invalid []error
}

func (r *recorder) Observe(e middleware.Event) {
	if e.Kind != middleware.EventRejected {
		return
	}
	r.mu.Lock()
	r.invalid = append(r.invalid, e.Err)
	r.mu.Unlock()
}
