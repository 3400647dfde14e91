package middleware_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// A handler that gets the Cookie header as a string (a raw serverless
// event, a wasm host's request type) loads the session with LoadHeader
// and sends back the header lines that Commit returns.
func ExampleManager_LoadHeader() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	m, err := middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Login: no cookie yet.
	s, err := m.LoadHeader(ctx, "example.com")
	if err != nil {
		panic(err)
	}
	s.SetSubject("ann")
	h, err := s.Commit()
	if err != nil {
		panic(err)
	}
	line := h.Get("Set-Cookie")
	fmt.Println(strings.SplitN(line, "=", 2)[0], strings.Contains(line, "HttpOnly; Secure"))

	// The next request carries the cookie.
	s, err = m.LoadHeader(ctx, "example.com", strings.SplitN(line, ";", 2)[0])
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Subject())
	h, err = s.Commit()
	fmt.Println(len(h.Values("Set-Cookie")), h.Get("Vary"), h.Get("Cache-Control"), err)
	// Output:
	// session true
	// ann
	// 0 Cookie private <nil>
}
