package nginxtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The proxy forwards to the upstream over each protocol it offers, and
// the client speaks the protocol asked for.
func TestProxyProtocols(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.Header.Get("Cookie"))
	}))
	t.Cleanup(up.Close)
	upstream := strings.TrimPrefix(up.URL, "http://")
	tests := []struct {
		name      string
		tls, h2   bool
		wantProto string
	}{
		{"plain HTTP/1.1", false, false, "HTTP/1.1"},
		{"TLS HTTP/1.1", true, false, "HTTP/1.1"},
		{"TLS HTTP/2", true, true, "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, Config{Upstream: upstream, TLS: tt.tls})
			req, _ := http.NewRequest("GET", s.URL+"/", nil)
			req.Header.Set("Cookie", "a=1; b=2")
			resp, err := s.Client(tt.h2).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Proto != tt.wantProto || string(body) != "upstream a=1; b=2" {
				t.Fatalf("%s %s %q\n%s", resp.Proto, resp.Status, body, s.ErrorLog())
			}
		})
	}
}
