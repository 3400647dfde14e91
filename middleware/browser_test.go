package middleware_test

import fixtures "github.com/cookieseal/cookieseal/internal/sessiontest"

// newBrowser returns a client with net/http/cookiejar's RFC 6265 jar: it
// keeps host-only and Domain cookies apart, as a browser does (shared with
// interop's tests through internal/sessiontest).
var newBrowser = fixtures.NewBrowser
