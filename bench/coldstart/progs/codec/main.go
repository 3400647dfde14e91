// Command codec is the cold-start subject: it parses a keyring from
// COLDSTART_KEYS, opens the native cookie value COLDSTART_VALUE with
// package cookie, and prints the payload's length. It imports nothing of
// cookieseal but keyring and cookie, so it measures the slim codec path.
// Exit status 1 if the value does not open.
package main

import (
	"fmt"
	"os"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

func main() {
	set, err := keyring.ParseString(os.Getenv("COLDSTART_KEYS"))
	if err != nil {
		os.Exit(1)
	}
	kr, err := keyring.New(set)
	if err != nil {
		os.Exit(1)
	}
	c, err := cookie.New(kr, "session", cookie.Options{})
	if err != nil {
		os.Exit(1)
	}
	p, _, err := c.Open(os.Getenv("COLDSTART_VALUE"))
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(len(p))
}
