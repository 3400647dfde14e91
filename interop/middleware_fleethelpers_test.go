package interop_test

// Fleet-rule fixtures of the session-manager tests that live here; the
// shared ones come from internal/sessiontest.

import (
	"net/http"
	"sync"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/sessiontest"
)

// Shared fixtures (internal/sessiontest): the same in middleware's tests.
var (
	errStoreDown     = sessiontest.ErrStoreDown
	newSwitchRevoker = sessiontest.NewSwitchRevoker
	userApp          = sessiontest.UserApp
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
