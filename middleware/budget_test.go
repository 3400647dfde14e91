package middleware_test

// noBudget is a MaxResponseCookieBytes that never binds, for tests of the
// per-line limits.
const noBudget = 1 << 20
