// Package interop holds cookieseal's tests against real peers, not only
// its own code:
//
//   - Node's jose opens cookieseal's JWE values and seals values that
//     cookieseal opens (jose_test.go, jose.mjs);
//   - @auth/core's own encode, and its own SessionStore chunking, make the
//     Auth.js session tokens and cookies that cookie/authjs opens
//     (authjs_test.go, authjs.mjs);
//   - gorilla/sessions' CookieStore writes, through a real handler, the
//     cookies that gorilla.Decoder migrates (gorilla_test.go);
//   - Python's jwcrypto, Authlib and python-jose read, and the first two
//     write, the JWE sessions; a Python check of the revoke/redis list
//     agrees with Go's; a FastAPI page under uvicorn reads a Go login
//     (python_test.go, python_session_test.go, python/). They use Debian's
//     /usr/bin/python3 (or COOKIESEAL_PYTHON) and python3-* packages, and
//     skip without them unless COOKIESEAL_REQUIRE_PYTHON=1.
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
