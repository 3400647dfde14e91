module github.com/cookieseal/cookieseal/fuzz

go 1.25.0

require github.com/cookieseal/cookieseal v0.1.0

require github.com/cookieseal/cookieseal/cookie/gorilla v0.1.0

require (
	github.com/cookieseal/cookieseal/cookie/authjs v0.1.0
	github.com/go-jose/go-jose/v4 v4.1.9
	github.com/gorilla/securecookie v1.1.2
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
