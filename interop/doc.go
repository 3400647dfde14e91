// Package interop holds cookieseal's tests against real peers, not only
// its own code:
//
//   - Node's jose opens cookieseal's JWE values and seals values that
//     cookieseal opens (jose_test.go, jose.mjs);
//   - @auth/core's own encode, and its own SessionStore chunking, make the
//     Auth.js session tokens and cookies that cookie/authjs opens
//     (authjs_test.go, authjs.mjs);
//   - gorilla/sessions' CookieStore writes, through a real handler, the
//     cookies that cookie.Gorilla migrates (gorilla_test.go).
//
// The Node packages are pinned in package.json and package-lock.json.
// Install them once with
//
//	npm ci --prefix interop
//
// The Node tests skip with a message saying so when node or
// interop/node_modules is missing, unless COOKIESEAL_REQUIRE_NODE=1 (as CI
// sets), when they fail instead. The package has no non-test code.
package interop
