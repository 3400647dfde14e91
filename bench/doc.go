// Package bench holds cookieseal's benchmarks against its peers and the
// raw lower bound, measured in the same run so that ratios, not absolute
// times, carry the result. It has no API; nothing imports it.
//
//	go test ./bench -run '^$' -bench '^Benchmark(Seal|Open)$' -benchmem -count 10   # the codec: cookieseal, securecookie (gob, JSON), go-jose JWE, cookieseal JWE, raw
//	go test ./bench -run '^$' -bench '^BenchmarkRequest$' -benchmem -count 10       # a request: bare, cookieseal, cookieseal-write, gorilla/sessions, scs
//	go test ./bench -run '^$' -bench RevokeCheck -benchmem -count 10                 # revocation: memory, redis-direct, redis-cached (needs redis-server)
//	COOKIESEAL_BENCH_LOAD=10M go test ./bench -run '^$' -bench RevokeLoad -benchtime 1x -timeout 30m   # a new cache's load: time, Redis CPU, bytes per entry (100k, 1M, 10M)
//	COOKIESEAL_REQUIRE_REDIS=1 COOKIESEAL_LOAD_ENTRIES=1000000 go test ./bench -run TestRevokeLoad -v  # the CI load test (needs redis-server and redis-cli)
//	go test ./bench -run TestRefreshFraction -v                                       # how many responses carry a Set-Cookie
//	go test ./bench -run '^$' -bench '^Benchmark(Session|WriteParts)$' -benchmem -count 10   # read and write by session size (small, 1KB, 3.8KB, 10KB chunked) against scs and gorilla/sessions, and a write's parts at each size (the floor)
//	COOKIESEAL_WRK=1 go test ./bench -run '^TestLoad$' -v -timeout 30m              # whole server under wrk, with floor (the value opened with no middleware, and the two cache headers) as cookieseal's limit (needs wrk, taskset; redis-server for scs's Redis store)
//	go run ./bench/report                                                            # Session, WriteParts, Request, Seal, Open and TestLoad, then charts (gonum/plot) and tables in bench/report/
//
// bench is its own module (bench/go.mod, listed in the root go.work), so
// that its peers and tools (scs and its Redis store, redigo, gonum/plot) stay out of
// the root module; from the repository root, go test ./bench/... runs its
// tests (the load test skips without COOKIESEAL_WRK).
//
// Compare runs with benchstat (golang.org/x/perf/cmd/benchstat) and quote
// medians. Every implementation does the whole job: a typed Go struct to a
// cookie value and back, or a whole request through its middleware.
package bench
