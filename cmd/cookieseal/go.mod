module github.com/cookieseal/cookieseal/cmd/cookieseal

go 1.25.0

require github.com/cookieseal/cookieseal v0.1.0

require github.com/cookieseal/cookieseal/revoke/redis v0.1.0

require (
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/redis/go-redis/v9 v9.22.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
