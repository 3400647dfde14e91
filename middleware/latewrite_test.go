package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// A ResponseWriter kept and used after the handler returned (as
// echo.WrapMiddleware's error path does) must never reach a later
// request's response, nor panic: the manager pools its per-request state,
// so the writer it hands out lives with the request, not in the pool.
func TestLateWriteStaysWithItsRequest(t *testing.T) {
	m := newManager(t, testKeyring(t), middleware.Options{})
	var kept http.ResponseWriter
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := middleware.From(r)
		if err != nil {
			t.Error(err)
			return
		}
		if r.URL.Path == "/first" {
			kept = w
			if err := s.Set("who", "first"); err != nil {
				t.Error(err)
			}
			return
		}
		if err := s.Set("who", "second"); err != nil {
			t.Error(err)
		}
		_, _ = w.Write([]byte("second"))
	}))
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest("GET", "/first", nil))
	for i := 0; i < 3; i++ { // the pooled state is reused by these
		second := httptest.NewRecorder()
		h.ServeHTTP(second, httptest.NewRequest("GET", "/second", nil))
		if got := second.Body.String(); got != "second" {
			t.Fatalf("second request's body = %q", got)
		}
	}
	third := httptest.NewRecorder()
	h.ServeHTTP(third, httptest.NewRequest("GET", "/second", nil))
	// The late write: after /first returned and its state was recycled.
	kept.Header().Set("X-Late", "1")
	kept.WriteHeader(http.StatusInternalServerError)
	if _, err := kept.Write([]byte("late")); err != nil {
		t.Fatalf("late write: %v", err)
	}
	if f, ok := kept.(http.Flusher); ok {
		f.Flush()
	}
	if strings.Contains(third.Body.String(), "late") || third.Header().Get("X-Late") != "" {
		t.Fatalf("a late write of the first request reached a later response: %q %v", third.Body.String(), third.Header())
	}
	if !strings.Contains(first.Body.String(), "late") {
		t.Fatalf("the late write did not reach its own request's writer: %q", first.Body.String())
	}
}
