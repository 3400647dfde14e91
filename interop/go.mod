module github.com/cookieseal/cookieseal/interop

go 1.25.0

require github.com/cookieseal/cookieseal v0.1.0

require github.com/cookieseal/cookieseal/cookie/gorilla v0.1.0

require github.com/cookieseal/cookieseal/cookie/authjs v0.1.0

require github.com/cookieseal/cookieseal/revoke/redis v0.1.0

require github.com/cookieseal/cookieseal/otel v0.1.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/gorilla/sessions v1.4.0
	github.com/redis/go-redis/v9 v9.22.0
	go.opentelemetry.io/otel/sdk/metric v1.46.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.46.0 // indirect
	go.opentelemetry.io/otel/metric v1.46.0 // indirect
	go.opentelemetry.io/otel/sdk v1.46.0 // indirect
	go.opentelemetry.io/otel/trace v1.46.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
