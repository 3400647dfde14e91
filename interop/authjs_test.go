package interop

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/cookie/authjs"
)

type authjsOut struct {
	Token   string `json:"token"`
	Cookies []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"cookies"`
	Decoded struct {
		IAT int64  `json:"iat"`
		Exp int64  `json:"exp"`
		JTI string `json:"jti"`
	} `json:"decoded"`
}

// TestAuthjsCoreTokens has @auth/core's own encode make session tokens,
// and its own SessionStore split them into cookies, then opens them with
// cookie/authjs from a request as a Go API behind a Next.js front end
// would receive it.
func TestAuthjsCoreTokens(t *testing.T) {
	needNode(t)
	const secret = "a front end's AUTH_SECRET, 32+ chars"
	const previous = "the AUTH_SECRET before the last rotation"
	for _, tc := range []struct {
		name, op, cookieName string
		bio                  int // bytes of filler claim, to make Auth.js chunk
		wantChunks           int
	}{
		{"small", "encode", authjs.CookieName, 0, 1},
		{"chunked", "encode", authjs.SecureCookieName, 4000, 2},
		{"three chunks", "encode", authjs.CookieName, 7000, 3},
		{"A256GCM", "encode-gcm", authjs.SecureCookieName, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{"sub": "user-42", "name": "Ann Example", "email": "ann@example.com", "picture": nil, "role": "admin", "bio": strings.Repeat("b", tc.bio)}
			var out authjsOut
			runNode(t, "authjs.mjs", map[string]any{"op": tc.op, "secret": secret, "cookieName": tc.cookieName, "token": claims, "maxAge": 3600}, &out)
			if len(out.Cookies) != tc.wantChunks {
				t.Fatalf("Auth.js set %d cookies, want %d", len(out.Cookies), tc.wantChunks)
			}
			req := httptest.NewRequest("GET", "/api/me", nil)
			var joined strings.Builder
			for i, c := range out.Cookies {
				want := tc.cookieName
				if tc.wantChunks > 1 {
					want += "." + string(rune('0'+i))
				}
				if c.Name != want || len(c.Value) > authjs.ChunkSize {
					t.Fatalf("cookie %d: %s of %d bytes", i, c.Name, len(c.Value))
				}
				joined.WriteString(c.Value)
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			if joined.String() != out.Token {
				t.Fatal("chunks do not join to the token")
			}
			iat := time.Unix(out.Decoded.IAT, 0)
			exp := time.Unix(out.Decoded.Exp, 0)
			for _, open := range []struct {
				name    string
				secrets []string
				now     time.Time
				want    error
			}{
				{"now", []string{secret}, iat.Add(time.Minute), nil},
				{"rotated: secret now second", []string{"a newer AUTH_SECRET, 32+ chars", secret}, iat.Add(time.Minute), nil},
				{"other secret", []string{previous}, iat.Add(time.Minute), cookie.ErrInvalid},
				{"expired", []string{secret}, exp.Add(16 * time.Second), cookie.ErrExpired},
			} {
				t.Run(open.name, func(t *testing.T) {
					r, err := authjs.New(open.secrets, authjs.Options{Now: func() time.Time { return open.now }})
					if err != nil {
						t.Fatal(err)
					}
					c, err := r.OpenRequest(req)
					if !errors.Is(err, open.want) {
						t.Fatalf("OpenRequest = %v, want %v", err, open.want)
					}
					if err != nil {
						return
					}
					if c.Subject != "user-42" || c.Name != "Ann Example" || c.Email != "ann@example.com" || c.Picture != "" ||
						c.Raw["role"] != "admin" || c.Raw["bio"] != claims["bio"] || c.ID != out.Decoded.JTI ||
						!c.IssuedAt.Equal(iat) || !c.ExpiresAt.Equal(exp) || exp.Sub(iat) != time.Hour {
						js, _ := json.Marshal(c.Raw)
						t.Fatalf("claims %+v (raw %.200s)", c, js)
					}
				})
			}
		})
	}
}
