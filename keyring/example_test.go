package keyring_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cookieseal/cookieseal/keyring"
)

func Example() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	s := fmt.Sprintf("%v %+v %#v", kr, kr.Primary(), kr.Primary())
	fmt.Println(strings.Contains(s, "primary"), len(kr.Keys()))
	// Output: true 1
}

func ExampleParseString() {
	secret := strings.Repeat("A", 42) + "E" // 32 bytes of base64url
	set, err := keyring.ParseString("7:primary:" + secret + ",epoch=24h")
	if err != nil {
		panic(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		panic(err)
	}
	fmt.Println(kr, kr.EpochPeriod())
	_, err = keyring.ParseString("7:decrypt-only:" + secret)
	fmt.Println(errors.Is(err, keyring.ErrInvalidKeySet))
	// Output:
	// keyring(1 keys, primary 7) 24h0m0s
	// true
}

func ExampleLifetime() {
	secret := strings.Repeat("A", 42) + "E" // 32 bytes of base64url
	set, err := keyring.ParseString("7:primary:" + secret + ",absolute_timeout=720h")
	if err != nil {
		panic(err)
	}
	kr, err := keyring.New(set)
	if err != nil {
		panic(err)
	}
	// Recorded: the absolute timeout. Not recorded: the rest, whose
	// defaults every reader uses.
	fmt.Println(kr.Lifetime().AbsoluteTimeout, kr.Lifetime().IdleTimeout)
	l := kr.Lifetime().WithDefaults()
	fmt.Println(l.IdleTimeout, l.AbsoluteTimeout, l.ClockSkew, l.RolloutDelay)
	// Output:
	// 720h0m0s 0s
	// 24h0m0s 720h0m0s 30s 1h0m0s
}
