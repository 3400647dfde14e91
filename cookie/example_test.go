package cookie_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/chunk"
	"github.com/cookieseal/cookieseal/keyring"
)

func Example() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	v, err := c.Seal([]byte(`{"user_id":123456}`), time.Time{})
	if err != nil {
		panic(err)
	}
	payload, _, err := c.Open(v)
	fmt.Println(string(payload), err)
	tampered := []byte(v)
	tampered[len(v)/2] ^= 'A' ^ 'Q' // flips a whole bit of the decoded bytes
	if tampered[len(v)/2] == v[len(v)/2] {
		panic("not tampered")
	}
	_, _, err = c.Open(string(tampered))
	fmt.Println(errors.Is(err, cookie.ErrInvalid))
	// Output:
	// {"user_id":123456} <nil>
	// true
}

// SealJSON and OpenJSON carry a typed session. Integers keep their exact
// value, and a payload that is not valid JSON for the type is ErrInvalid.
func ExampleSealJSON() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	type Session struct {
		UserID int64  `json:"user_id"`
		Role   string `json:"role"`
	}
	v, err := cookie.SealJSON(c, Session{UserID: 1<<62 + 1, Role: "admin"}, time.Time{})
	if err != nil {
		panic(err)
	}
	s, _, err := cookie.OpenJSON[Session](c, v)
	fmt.Println(s.UserID, s.Role, err)
	// Output:
	// 4611686018427387905 admin <nil>
}

// A value too large for one cookie is split over session.0, session.1, …
// and joined back from the next request's cookies.
func ExampleSplit() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	const (
		chunkSize = 3800
		maxChunks = 4 // behind a proxy tuned for it (see DefaultMaxChunks)
	)
	c, err := cookie.New(kr, "session", cookie.Options{MaxValueSize: maxChunks * chunkSize})
	if err != nil {
		panic(err)
	}
	v, err := c.Seal(bytes.Repeat([]byte("x"), 5000), time.Time{})
	if err != nil {
		panic(err)
	}
	pieces, err := cookie.Split(v, chunkSize, maxChunks)
	if err != nil {
		panic(err)
	}
	// The response: one cookie per piece. The next request carries them.
	r := httptest.NewRequest("GET", "/", nil)
	for i, p := range pieces {
		r.AddCookie(&http.Cookie{Name: cookie.ChunkName("session", i), Value: p})
	}

	joined, n, err := chunk.Join(r.Cookies(), "session", maxChunks, maxChunks*chunkSize)
	fmt.Println(n, err)
	payload, _, err := c.Open(joined)
	fmt.Println(len(payload), err)
	// The session shrinks and fits in the plain cookie again: expire
	// every chunk the request carried.
	fmt.Println(chunk.Stale(r.Cookies(), "session", 0))
	// Output:
	// 2 <nil>
	// 5000 <nil>
	// [session.0 session.1]
}
