package middleware_test

import (
	"net/http/httptest"
	"strings"
	"sync"

	fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// Shared fixtures (the public sessiontest, and internal/sessiontest for
// what users do not need): the same in interop's tests.
type clock = sessiontest.Clock

var (
	newClock    = sessiontest.NewClock
	testKeyring = fixtures.Keyring
	newManager  = fixtures.ManagerOn
	do          = fixtures.Do
	setCookies  = fixtures.SetCookies
	app         = fixtures.App
)

// swapKeys is a keyring.Provider whose keyring a test can swap.
type swapKeys struct {
	mu sync.Mutex
	kr *keyring.Keyring
}

func (p *swapKeys) Keyring() *keyring.Keyring {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kr
}

func (p *swapKeys) Set(kr *keyring.Keyring) {
	p.mu.Lock()
	p.kr = kr
	p.mu.Unlock()
}

// jar keeps the cookies a test client holds, applying Set-Cookie.
type jar = fixtures.Jar

func hasAttr(line, attr string) bool {
	for _, part := range strings.Split(line, ";") {
		if strings.EqualFold(strings.TrimSpace(part), attr) {
			return true
		}
	}
	return false
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// observeKind is an Observer that hands f the Err of every event of kind
// (EventRejected for the rejected cookies, EventRevokeFault for the
// revocation faults, EventSaveFailed for the sessions not saved).
func observeKind(kind middleware.EventKind, f func(error)) middleware.Observer {
	return middleware.ObserverFunc(func(e middleware.Event) {
		if e.Kind == kind {
			f(e.Err)
		}
	})
}
