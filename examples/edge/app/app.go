// Package app is the small application that every deployment in this
// module serves, so that each runtime is tested on the same flow:
//
//	POST /login?user=NAME  starts a session for NAME, with a profile large
//	                       enough to be chunked over two cookies
//	GET  /me               answers "NAME <profile bytes>", or 401
//	POST /logout           destroys the session (and revokes it, when the
//	                       manager has a Revoker)
//
// It is example code: a real login checks a password.
package app

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// ProfileSize is the size of the profile stored at login: with the
// default MaxValueSize it needs two chunk cookies.
const ProfileSize = 5000

// Options are the session options every deployment uses: chunking up to
// four cookies, a response budget that holds them, and an in-memory
// Revoker, so that a logged-out cookie replayed to the same instance is
// refused. A fleet of instances needs a shared store instead (the
// "Forced logout at the edge" of docs/edge.md).
func Options() middleware.Options {
	return middleware.Options{
		MaxChunks:              4,
		MaxResponseCookieBytes: 16 << 10,
		Revoker:                revoke.NewMemory(revoke.MemoryOptions{}),
	}
}

// New returns the application with its session manager, for keys.
func New(keys keyring.Provider, opts middleware.Options) (http.Handler, *middleware.Manager, error) {
	// "session": the edge flow runs on plain-HTTP test servers whose
	// clients (Go's cookie jar) do not send a Secure cookie there.
	opts.InsecureNoHostPrefix = true
	m, err := middleware.New(keys, "session", opts)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		s, err := m.Session(r)
		if err == nil {
			err = s.Renew() // a new id at login
		}
		if err == nil {
			err = s.SetSubject(user)
		}
		if err == nil {
			err = s.Set("profile", strings.Repeat("p", ProfileSize))
		}
		if err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "welcome", user)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r)
		if err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		profile, ok, err := middleware.Get[string](s, "profile")
		if err != nil || !ok || !s.Authenticated() {
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, s.Subject(), len(profile))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Session(r)
		if err == nil {
			err = s.Destroy()
		}
		if err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "bye")
	})
	return m.Handler(mux), m, nil
}

// Keys parses COOKIESEAL_KEYS-style key text (keyring.ParseString), as a
// deployment reads it from its environment or secret store.
func Keys(text string) (*keyring.Keyring, error) {
	set, err := keyring.ParseString(text)
	if err != nil {
		return nil, err
	}
	return keyring.New(set)
}
