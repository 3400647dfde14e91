package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

func Example() {
	kr, err := keyring.Generate() // in production: keyring.ParseString(os.Getenv("COOKIESEAL_KEYS"))
	if err != nil {
		panic(err)
	}
	sessions, err := middleware.New(kr, "__Host-session", middleware.Options{})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sess, err := middleware.From(r)
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		sess.Renew() // a new session id at login: the fixation defence
		sess.SetSubject("user-42")
		sess.Set("user_id", int64(42))
		fmt.Fprintln(w, "welcome")
	})
	// A page that needs a logged-in user: RequireSubject answers 401
	// to anyone else (or pass a handler that redirects to a login form).
	mux.Handle("GET /whoami", middleware.RequireSubject(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		uid, _, _ := middleware.Get[int64](sess, "user_id")
		fmt.Fprintf(w, "user %d (%s)\n", uid, sess.Subject())
	})))
	handler := http.NewCrossOriginProtection().Handler(sessions.Handler(mux))

	// Log in, then use the cookie.
	login := httptest.NewRecorder()
	handler.ServeHTTP(login, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := login.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.Secure, cookie.HttpOnly, cookie.SameSite == http.SameSiteLaxMode, cookie.MaxAge)

	req := httptest.NewRequest("GET", "https://example.com/whoami", nil)
	req.AddCookie(cookie)
	resp := httptest.NewRecorder()
	handler.ServeHTTP(resp, req)
	fmt.Print(resp.Body.String())
	fmt.Println("Set-Cookie on a read:", len(resp.Result().Cookies()))
	// Output:
	// __Host-session true true true 86400
	// user 42 (user-42)
	// Set-Cookie on a read: 0
}

func ExampleFrom_withoutMiddleware() {
	r := httptest.NewRequest("GET", "/", nil)
	_, err := middleware.From(r)
	fmt.Println(err)
	// Output:
	// middleware: no session in the request context; wrap the handler with Manager.Handler
}

func ExampleSession_AddFlash() {
	kr, _ := keyring.Generate()
	sessions, _ := middleware.New(kr, middleware.DefaultName, middleware.Options{})
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		if r.URL.Path == "/save" {
			sess.AddFlash("Saved.")
			return
		}
		flashes, _ := middleware.PopFlashes[string](sess)
		fmt.Println(flashes)
	}))
	var cookies []*http.Cookie
	for _, path := range []string{"/save", "/show", "/show"} {
		req := httptest.NewRequest("GET", path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if cs := rec.Result().Cookies(); len(cs) > 0 {
			cookies = cs
		}
	}
	// Output:
	// [Saved.]
	// []
}

func ExampleManager_RevokeSubject() {
	kr, _ := keyring.Generate()
	sessions, _ := middleware.New(kr, middleware.DefaultName, middleware.Options{})
	// Without a Revoker there is no list to write to.
	fmt.Println(sessions.RevokeSubject(context.Background(), "user-42"))
	// Output:
	// middleware: no Revoker configured
}

func ExampleNew() {
	kr, _ := keyring.Generate()
	// Unsafe or impossible configurations are refused at construction.
	_, err := middleware.New(kr, "__Host-session", middleware.Options{Domain: "example.com"})
	fmt.Println(err)
	_, err = middleware.New(kr, "session", middleware.Options{InsecureNoHostPrefix: true, SameSite: http.SameSiteNoneMode, InsecureAllowHTTP: true})
	fmt.Println(err)
	// Output:
	// middleware: cookie "__Host-session": a __Host- cookie must not have a Domain (Domain "example.com")
	// middleware: cookie "session": SameSite=None needs Secure (browsers reject it otherwise)
}

func ExampleGet() {
	kr, _ := keyring.Generate()
	sessions, _ := middleware.New(kr, middleware.DefaultName, middleware.Options{})
	type cart struct {
		Items []string `json:"items"`
		Total int64    `json:"total"`
	}
	h := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		sess.Set("cart", cart{Items: []string{"tea"}, Total: 9007199254740993}) // 2^53+1: exact
		c, ok, err := middleware.Get[cart](sess, "cart")
		fmt.Println(c.Items, c.Total, ok, err)
		_, _, err = middleware.Get[int](sess, "cart")
		fmt.Println(errors.Is(err, middleware.ErrType))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	// Output:
	// [tea] 9007199254740993 true <nil>
	// true
}

// The password change: log out every other session of the user, keep
// this one. RevokeOthers renews the laptop's session past its own
// revocation; the phone's session, issued before, is refused.
func ExampleSession_RevokeOthers() {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now } // moved by hand below
	kr, _ := keyring.Generate()
	sessions, _ := middleware.New(kr, middleware.DefaultName, middleware.Options{
		Codec:   cookie.Options{Now: clock},
		Revoker: revoke.NewMemory(revoke.MemoryOptions{Now: clock}),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := sessions.Session(r)
		sess.Renew()
		sess.SetSubject("alice")
	})
	mux.HandleFunc("/password", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := sessions.Session(r)
		// … check the old password, store the new one, then:
		err := sess.RevokeOthers(r.Context()) // every other session of alice; this one is kept
		fmt.Println("password changed:", err)
	})
	mux.HandleFunc("/whoami", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := sessions.Session(r)
		fmt.Fprint(w, sess.Subject())
	})
	h := sessions.Handler(mux)
	visit := func(path string, c *http.Cookie) (*http.Cookie, string) {
		r := httptest.NewRequest("GET", path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for _, nc := range w.Result().Cookies() {
			c = nc
		}
		return c, w.Body.String()
	}
	phone, _ := visit("/login", nil)
	laptop, _ := visit("/login", nil)
	now = now.Add(time.Minute)
	laptop, _ = visit("/password", laptop)
	_, onLaptop := visit("/whoami", laptop)
	_, onPhone := visit("/whoami", phone)
	fmt.Printf("laptop %q, phone %q\n", onLaptop, onPhone)
	// Output:
	// password changed: <nil>
	// laptop "alice", phone ""
}

// A page for logged-in users only; the nil deny handler answers 401.
// Authenticated is the same check inside a handler.
func ExampleRequireSubject() {
	kr, _ := keyring.Generate()
	sessions, _ := middleware.New(kr, middleware.DefaultName, middleware.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		sess.Renew()
		sess.SetSubject("alice")
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		sess.Set("cart", []string{"tea"}) // an anonymous session: not logged in
	})
	account := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := middleware.From(r)
		fmt.Fprintf(w, "hello %s", sess.Subject())
	})
	mux.Handle("GET /account", middleware.RequireSubject(nil)(account))
	h := sessions.Handler(mux)

	visit := func(method, path string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if c != nil {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	show := func(w *httptest.ResponseRecorder) { fmt.Printf("%d %q\n", w.Code, w.Body.String()) }
	show(visit("GET", "/account", nil))
	anonymous := visit("POST", "/cart", nil).Result().Cookies()[0]
	show(visit("GET", "/account", anonymous))
	alice := visit("POST", "/login", nil).Result().Cookies()[0]
	show(visit("GET", "/account", alice))
	// Output:
	// 401 "Unauthorized\n"
	// 401 "Unauthorized\n"
	// 200 "hello alice"
}
