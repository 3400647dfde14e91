// Package authjs opens the session tokens of Auth.js (next-auth v5), so
// that a Go API can trust the session of a Next.js front end.
//
// For most uses, build one [Reader] at start-up from the front end's
// AUTH_SECRET and call OpenRequest in the API's handlers:
//
//	r, err := authjs.New([]string{os.Getenv("AUTH_SECRET")}, authjs.Options{})
//	…
//	claims, err := r.OpenRequest(req)
//	if err != nil { /* no session: 401 */ }
//	userID := claims.Subject
//
// # What is read
//
// Auth.js keeps its session in a JWE compact token in the cookie
// "__Secure-authjs.session-token" (HTTPS) or "authjs.session-token"
// (plain HTTP). A token longer than [ChunkSize] is split by Auth.js over the
// cookies <name>.0, <name>.1, …, which OpenRequest joins back. The token's
// "alg" is "dir" and its "enc" is "A256CBC-HS512" (Auth.js writes it) or
// "A256GCM" (Auth.js also reads it); anything else, and any "zip" or
// "crit" header, is refused. As Auth.js's getToken, a request without a
// session cookie may carry the token as "Authorization: Bearer <token>".
//
// # One session per request
//
// A host can set cookies for its parent domain, so a sibling host can
// plant its own valid token beside the user's. OpenRequest therefore
// refuses a request that carries the session more than once, with
// [ErrDuplicate] (which matches cookie.ErrInvalid): a cookie name twice, a
// chunk index twice, the whole cookie beside a complete set of its chunks, or
// tokens under both standard names. It never picks "the copy that
// authenticates". Chunks without a .0 beside a whole cookie are stale
// leftovers and ignored. The session manager of package middleware
// follows the same rule.
//
// The key is Auth.js's own derivation (getDerivedEncryptionKey in
// @auth/core's jwt.ts): HKDF-SHA256 of the secret with the cookie name as
// salt and the info "Auth.js Generated Encryption Key (<cookie name>)",
// 64 bytes for A256CBC-HS512 and 32 for A256GCM. Every key is derived
// once, in [New]. Auth.js puts the RFC 7638 thumbprint of the key in the
// token's "kid", so the Reader picks the key by kid and decrypts once; a
// token without a kid is tried under each secret.
//
// # Rotation
//
// Pass every secret still in use, newest first, as Auth.js takes them in
// AUTH_SECRET's array form: a token sealed under any of them opens.
//
// # Time
//
// "exp" is required and enforced with the injected clock and a tolerance
// of ClockSkew (15s by default, as Auth.js); a token whose "nbf" or "iat"
// lies in the future beyond the tolerance is invalid. The times are only
// checked after the token is authenticated.
//
// # Errors
//
// A token that does not open matches cookie.ErrInvalid or
// cookie.ErrExpired, the sentinels of cookieseal's own values, so one
// [errors.Is] test covers both kinds of session; [ErrNoToken] and
// ErrDuplicate (from OpenRequest) are this package's own. Neither errors
// nor String ever show a token or a secret.
//
// The older next-auth v4 format (salt-less HKDF with another info string,
// cookie "next-auth.session-token") is not read.
package authjs
