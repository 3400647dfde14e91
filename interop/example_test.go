package interop_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/gorilla"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/gorilla/sessions"
)

// Moving one user's session off gorilla/sessions: the cookie the old
// CookieStore wrote is read once with the old keys and sealed again in
// cookieseal's native format. The session middleware does this for you
// when given the decoder as its legacy option.
func Example_gorillaMigration() {
	hashKey := []byte("the old app's 64-byte hash key.................................!")
	blockKey := []byte("the old app's 32-byte block key!")

	// The old app wrote this cookie.
	store := sessions.NewCookieStore(hashKey, blockKey)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	s, _ := store.Get(req, "session")
	s.Values["user_id"] = int64(42)
	s.Values["role"] = "admin"
	if err := s.Save(req, rec); err != nil {
		panic(err)
	}
	old := rec.Result().Cookies()[0]

	// The new app reads it once…
	legacy, err := gorilla.New(hashKey, blockKey, gorilla.Options{MaxAge: time.Duration(store.Options.MaxAge) * time.Second, SubjectKey: "user_id"})
	if err != nil {
		panic(err)
	}
	values, err := legacy.DecodeLegacy(old.Name, old.Value)
	if err != nil {
		panic(err)
	}

	// …and seals it again in the native format, for the response's
	// Set-Cookie under the same name.
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	codec, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	payload, err := json.Marshal(values)
	if err != nil {
		panic(err)
	}
	v, err := codec.Seal(payload, time.Time{})
	if err != nil {
		panic(err)
	}
	opened, _, err := codec.Open(v)
	fmt.Println(string(opened), err)
	// Output:
	// {"role":"admin","user_id":42} <nil>
}
