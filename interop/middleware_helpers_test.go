package interop_test

// Fixtures of the session-manager tests that live here (they need
// gorilla/sessions, chi or cookie/gorilla, which the root module does not
// require); the shared ones come from internal/sessiontest.

import (
	"net/http"
	"net/http/httptest"

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
type jar map[string]*http.Cookie

func (j jar) update(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c
		}
	}
}

func (j jar) list() []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}
