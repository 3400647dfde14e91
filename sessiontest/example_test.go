package sessiontest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/sessiontest"
)

// dashboard is the handler under test: a page for logged-in users.
var dashboard = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	s, err := middleware.From(r)
	if err != nil || !s.Authenticated() {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return
	}
	cart, _, _ := middleware.Get[int](s, "cart")
	fmt.Fprintf(w, "hello %s, %d in your cart\n", s.Subject(), cart)
})

// A handler test with a logged-in user, and one without: in your code
// this is the body of func TestDashboard(t *testing.T).
func Example() {
	var t testing.TB = exampleT{} // in a test: the test's *testing.T

	m := sessiontest.NewManager(t, middleware.Options{})
	r := sessiontest.NewRequest(t, m, "GET", "/dashboard", "user-42")
	w := httptest.NewRecorder()
	m.Handler(dashboard).ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)

	r = sessiontest.NewRequest(t, m, "GET", "/dashboard", "") // no login
	w = httptest.NewRecorder()
	m.Handler(dashboard).ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	// Output:
	// 200 hello user-42, 0 in your cart
	// 401 log in first
}

// A session that holds values, on a clock the test moves: after
// IdleTimeout without a request, the session has ended.
func ExampleLoginCookies() {
	var t testing.TB = exampleT{} // in a test: the test's *testing.T

	clk := sessiontest.NewClock()
	m := sessiontest.NewManager(t, middleware.Options{Codec: cookie.Options{Now: clk.Now, IdleTimeout: time.Hour}})
	cookies := sessiontest.LoginCookies(t, m, "user-42", map[string]any{"cart": 3})
	for _, wait := range []time.Duration{0, 2 * time.Hour} {
		clk.Advance(wait)
		r := httptest.NewRequest("GET", "/dashboard", nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		m.Handler(dashboard).ServeHTTP(w, r)
		fmt.Print("after ", wait, ": ", w.Code, " ", w.Body)
	}
	// Output:
	// after 0s: 200 hello user-42, 3 in your cart
	// after 2h0m0s: 401 log in first
}

// With the revocation store down, the manager fails closed: the logged-in
// user's session is refused (and its cookie kept for when the store is
// back).
func ExampleFailingRevoker() {
	var t testing.TB = exampleT{} // in a test: the test's *testing.T

	m := sessiontest.NewManager(t, middleware.Options{Revoker: sessiontest.FailingRevoker{}})
	r := sessiontest.NewRequest(t, m, "GET", "/dashboard", "user-42")
	w := httptest.NewRecorder()
	m.Handler(dashboard).ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body)
	fmt.Println("Set-Cookie lines:", len(w.Result().Cookies()))
	// Output:
	// 401 log in first
	// Set-Cookie lines: 0
}

// exampleT stands in for the *testing.T that an Example does not have.
type exampleT struct{ testing.TB }

func (exampleT) Helper()                           {}
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
