package interop_test

// Fleet-rule fixtures of the session-manager tests that live here; the
// shared ones come from the public sessiontest and internal/sessiontest.

import (
	"net/http"
	"sync"

	"github.com/cookieseal/cookieseal/cookie"
	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
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

// recorder collects what the hooks are told.
type recorder struct {
	mu      sync.Mutex
	invalid []error
}

func (r *recorder) onInvalid(_ *http.Request, err error) {
	r.mu.Lock()
	r.invalid = append(r.invalid, err)
	r.mu.Unlock()
}
