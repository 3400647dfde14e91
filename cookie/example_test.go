package cookie_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

func Example() {
	kr, err := keyring.Generate(time.Now())
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
