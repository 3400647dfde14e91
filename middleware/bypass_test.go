package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/cookieseal/cookieseal/middleware"
)

// frameworkWriter stands for a framework's own response writer (Gin's):
// it reports whether its header went out.
type frameworkWriter struct {
	*httptest.ResponseRecorder
	sent bool
}

func (f *frameworkWriter) WriteHeader(code int) { f.sent = true; f.ResponseRecorder.WriteHeader(code) }
func (f *frameworkWriter) Write(b []byte) (int, error) {
	f.sent = true
	return f.ResponseRecorder.Write(b)
}
func (f *frameworkWriter) Written() bool { return f.sent }

// TestBypassReported: a handler that writes to the framework's writer
// rather than the one the middleware passed on loses the cookie; the
// middleware says so, an EventSaveFailed with ErrBypassed (or a log line
// on slog.Default with no Observer), and only when something was lost.
func TestBypassReported(t *testing.T) {
	for _, tc := range []struct {
		name     string
		around   bool // write to the framework's writer, around the middleware
		set      bool // change the session
		wantLost bool
	}{
		{"around, session changed", true, true, true},
		{"around, session untouched", true, false, false},
		{"through, session changed", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var faults []error
			m := newManager(t, testKeyring(t), middleware.Options{Observer: observeKind(middleware.EventSaveFailed, func(err error) {
				mu.Lock()
				faults = append(faults, err)
				mu.Unlock()
			})})
			fw := &frameworkWriter{ResponseRecorder: httptest.NewRecorder()}
			m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.set {
					s, _ := middleware.From(r)
					s.Set("k", "v")
				}
				out := w
				if tc.around {
					out = fw
				}
				out.Write([]byte("ok"))
			})).ServeHTTP(fw, httptest.NewRequest("GET", "/", nil))
			gotCookie := len(fw.Result().Cookies()) > 0
			if gotCookie != (tc.set && !tc.around) {
				t.Fatalf("Set-Cookie present %v", gotCookie)
			}
			lost := len(faults) == 1 && errors.Is(faults[0], middleware.ErrBypassed)
			if lost != tc.wantLost || (!tc.wantLost && len(faults) > 0) {
				t.Fatalf("faults %v, want ErrBypassed reported: %v", faults, tc.wantLost)
			}
		})
	}
}
