package gorilla_test

import (
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/gorilla/securecookie"
)

// Reading a session cookie that gorilla/sessions' CookieStore wrote, with
// the old app's hash and block keys. SubjectKey names the value that
// holds the user (Options.Anonymous declares there is none).
func ExampleDecoder_DecodeLegacy() {
	hashKey := []byte("an old app's 32-byte hash key...")
	blockKey := []byte("an old app's 32-byte AES key....")

	// What the old app's CookieStore wrote (securecookie, gob).
	old, err := securecookie.New(hashKey, blockKey).Encode("session", map[any]any{"user_id": 42, "role": "admin"})
	if err != nil {
		panic(err)
	}

	g, err := gorilla.New(hashKey, blockKey, gorilla.Options{MaxAge: 30 * 24 * time.Hour, SubjectKey: "user_id"})
	if err != nil {
		panic(err)
	}
	values, err := g.DecodeLegacy("session", old)
	fmt.Println(values["user_id"], values["role"], err)
	// Output:
	// 42 admin <nil>
}

// DecodeSession also gives the cookie's timestamp, which a migrated
// session keeps as its issued-at, and, with SubjectKey, its user: what
// middleware.Options.Legacy needs for revocation.
func ExampleDecoder_DecodeSession() {
	hashKey := []byte("an old app's 32-byte hash key...")
	blockKey := []byte("an old app's 32-byte AES key....")
	old, err := securecookie.New(hashKey, blockKey).Encode("session", map[any]any{"user_id": 42})
	if err != nil {
		panic(err)
	}

	g, err := gorilla.New(hashKey, blockKey, gorilla.Options{SubjectKey: "user_id"})
	if err != nil {
		panic(err)
	}
	s, err := g.DecodeSession("session", old)
	fmt.Println(s.Subject, time.Since(s.IssuedAt) < time.Minute, err)
	// Output:
	// 42 true <nil>
}
