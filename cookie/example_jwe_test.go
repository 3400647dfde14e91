package cookie_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// A session sealed as JWE and read back. Another JOSE library (go-jose,
// Node's jose, Python's jwcrypto: see the interop tests) opens it given
// the exported key set, and a codec that seals natively opens it too, so
// switching Options.Format logs nobody out.
func Example_jwe() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	c, err := cookie.New(kr, "session", cookie.Options{Format: cookie.JWE})
	if err != nil {
		panic(err)
	}
	v, err := c.Seal([]byte(`{"user_id":123456}`), time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(v, "."), "dots")

	payload, meta, err := c.Open(v)
	fmt.Println(string(payload), meta.Format, err)

	// An instance still sealing natively opens it as well.
	native, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	payload, meta, err = native.Open(v)
	fmt.Println(string(payload), meta.Format, err)

	// The other service holds the key set (from your secret store) and
	// picks the key by the value's kid.
	js, err := c.InsecureExportJWKSet()
	if err != nil {
		panic(err)
	}
	var set struct {
		Keys []struct{ Kty, Alg, Kid string }
	}
	if err := json.Unmarshal(js, &set); err != nil {
		panic(err)
	}
	fmt.Println(len(set.Keys), "key:", set.Keys[0].Kty, set.Keys[0].Alg)

	// A value sealed for another purpose does not open.
	other, err := cookie.New(kr, "csrf", cookie.Options{Format: cookie.JWE})
	if err != nil {
		panic(err)
	}
	_, _, err = other.Open(v)
	fmt.Println(errors.Is(err, cookie.ErrInvalid))
	// Output:
	// 4 dots
	// {"user_id":123456} jwe <nil>
	// {"user_id":123456} jwe <nil>
	// 1 key: oct dir
	// true
}
