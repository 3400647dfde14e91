module github.com/cookieseal/cookieseal/bench

go 1.25.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/cookieseal/cookieseal v0.0.0
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/gorilla/securecookie v1.1.2
	github.com/gorilla/sessions v1.4.0
	github.com/redis/go-redis/v9 v9.22.0
	golang.org/x/crypto v0.55.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/cookieseal/cookieseal => ../
