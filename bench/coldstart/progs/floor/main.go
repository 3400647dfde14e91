// Command floor is the crypto floor of the cold-start measurement: it
// opens one AES-256-GCM value, base64url-encoded, with a key from the
// environment, as a hand-written cookie check would, and prints the
// plaintext's length. Exit status 1 if it does not open.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"os"
)

func main() {
	key, err := base64.RawURLEncoding.DecodeString(os.Getenv("COLDSTART_RAWKEY"))
	if err != nil {
		os.Exit(1)
	}
	v, err := base64.RawURLEncoding.DecodeString(os.Getenv("COLDSTART_RAWVALUE"))
	if err != nil {
		os.Exit(1)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		os.Exit(1)
	}
	g, err := cipher.NewGCM(b)
	if err != nil || len(v) < g.NonceSize() {
		os.Exit(1)
	}
	p, err := g.Open(nil, v[:g.NonceSize()], v[g.NonceSize():], nil)
	if err != nil {
		os.Exit(1)
	}
	fmt.Println(len(p))
}
