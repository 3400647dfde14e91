package authjs_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/cookieseal/cookieseal/cookie/authjs"
)

// A Go API reading the session of a Next.js front end that uses Auth.js.
// The token here was made by @auth/core's encode (testdata); in a real API
// the secret is the front end's AUTH_SECRET and the clock is time.Now.
func ExampleReader_OpenRequest() {
	token, secret := exampleToken()
	r, err := authjs.New([]string{secret}, authjs.Options{
		Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.AddCookie(&http.Cookie{Name: "authjs.session-token", Value: token})
	claims, err := r.OpenRequest(req)
	if err != nil {
		fmt.Println("no session:", err)
		return
	}
	fmt.Println(claims.Subject, claims.Email, claims.Raw["role"])

	_, err = r.OpenRequest(httptest.NewRequest("GET", "/api/me", nil))
	fmt.Println(errors.Is(err, authjs.ErrNoToken))
	// Output:
	// user-42 ann@example.com admin
	// true
}

// exampleToken reads the "small" vector that @auth/core 0.41.3 made.
func exampleToken() (token, secret string) {
	data, err := os.ReadFile("testdata/authjs-core-0.41.3.json")
	if err != nil {
		panic(err)
	}
	var v struct {
		Secret  string
		Vectors []struct{ Token string }
	}
	if err := json.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	return v.Vectors[0].Token, v.Secret
}
