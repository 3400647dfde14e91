package cookie_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	jose "github.com/go-jose/go-jose/v4"
)

// A session sealed as JWE, read back by cookieseal and by another JOSE
// library (here go-jose; Node's jose or Python's joserfc work the same way)
// given the exported key set.
func ExampleNewJWE() {
	kr, err := keyring.Generate(time.Now())
	if err != nil {
		panic(err)
	}
	c, err := cookie.NewJWE(kr, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	v, err := c.Seal([]byte(`{"user_id":123456}`), time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Count(v, "."), "dots")

	payload, _, err := c.Open(v)
	fmt.Println(string(payload), err)

	// The other service holds the key set (from your secret store) and
	// picks the key by the value's kid.
	js, err := c.InsecureExportJWKSet()
	if err != nil {
		panic(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(js, &set); err != nil {
		panic(err)
	}
	obj, err := jose.ParseEncryptedCompact(v, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		panic(err)
	}
	plain, err := obj.Decrypt(set.Key(obj.Header.KeyID)[0].Key)
	fmt.Println(string(plain), err)

	// A value sealed for another purpose does not open.
	other, err := cookie.NewJWE(kr, "csrf", cookie.Options{})
	if err != nil {
		panic(err)
	}
	_, _, err = other.Open(v)
	fmt.Println(errors.Is(err, cookie.ErrInvalid))
	// Output:
	// 4 dots
	// {"user_id":123456} <nil>
	// {"user_id":123456} <nil>
	// true
}
