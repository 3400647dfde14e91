package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
)

// TestBrowserCookiePrefixes checks middleware.New's prefix rules against
// a real Chromium: over a table of cookie names (each prefix as the RFC
// spells it and in lower case, and none) and settings, New accepts
// exactly the configurations whose cookie Chromium stores, for names
// whose prefix is spelled as the RFC does; a prefix in lower case New
// refuses whatever the settings (older browsers took it as no prefix),
// and Chromium stores it exactly when it stores the RFC's spelling (it
// matches prefixes case-insensitively). An accepted
// configuration sets its cookie through a manager; a refused one through
// a hand-written line with the attributes the manager would have used.
// Over HTTPS on a host name (so that a Domain can be set), and over plain
// HTTP on localhost, where Chromium stores Secure cookies, prefixed ones
// included, and a prefixed name therefore needs no InsecureAllowHTTP.
func TestBrowserCookiePrefixes(t *testing.T) {
	execPath := browserPath(t)
	kr, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	type setting struct {
		name string
		opts middleware.Options
	}
	settings := []setting{
		{"defaults", middleware.Options{}},
		{"InsecureAllowHTTP", middleware.Options{InsecureAllowHTTP: true}},
		{"InsecureNoHTTPOnly", middleware.Options{InsecureNoHTTPOnly: true}},
		{"Domain", middleware.Options{Domain: "example.test"}},
		{"Path", middleware.Options{Path: "/app"}},
	}
	type probe struct {
		name     string
		setting  setting
		accepted bool
		m        *middleware.Manager
		err      error
		tls      bool
		// twin is, for a prefix in lower case, the probe of the RFC's
		// spelling with the same setting and scheme.
		twin   *probe
		stored bool
	}
	var probes []*probe
	add := func(name string, s setting, tls bool, twin *probe) *probe {
		o := s.opts
		o.InsecureNoHostPrefix = true // the prefix rules, not the choice of a prefix
		m, err := middleware.New(kr, name, o)
		p := &probe{name: name, setting: s, accepted: err == nil, m: m, err: err, tls: tls, twin: twin}
		probes = append(probes, p)
		return p
	}
	for i, s := range settings {
		for j, p := range []string{"", "__Secure-", "__Host-", "__Http-", "__Host-Http-"} {
			var tlsTwin, plainTwin *probe
			for k, spelled := range []string{p, strings.ToLower(p)} {
				if p == "" && k > 0 {
					continue
				}
				pt := add(fmt.Sprintf("%ss%d%d%d", spelled, i, j, k), s, true, tlsTwin)
				if k == 0 {
					tlsTwin = pt
				}
				if s.name == "defaults" || s.name == "InsecureAllowHTTP" {
					pp := add(fmt.Sprintf("%sl%d%d%d", spelled, i, j, k), s, false, plainTwin)
					if k == 0 {
						plainTwin = pp
					}
				}
			}
		}
	}

	// /set?i=N sets probe N's cookie.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i >= len(probes) {
			http.Error(w, "no such probe", http.StatusBadRequest)
			return
		}
		p := probes[i]
		if p.accepted {
			p.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := middleware.From(r)
				if err == nil {
					err = s.Set("k", "v")
				}
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				fmt.Fprint(w, "set")
			})).ServeHTTP(w, r)
			return
		}
		o := p.setting.opts
		path := o.Path
		if path == "" {
			path = "/"
		}
		c := &http.Cookie{Name: p.name, Value: "v", Path: path, Domain: o.Domain, Secure: !o.InsecureAllowHTTP,
			HttpOnly: !o.InsecureNoHTTPOnly, SameSite: http.SameSiteLaxMode, MaxAge: 3600}
		http.SetCookie(w, c)
		fmt.Fprint(w, "set by hand")
	})
	tlsSrv := httptest.NewTLSServer(h)
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(h)
	defer plainSrv.Close()
	tlsBase := "https://app.example.test:" + tlsSrv.URL[strings.LastIndexByte(tlsSrv.URL, ':')+1:]
	plainBase := "http://localhost:" + plainSrv.URL[strings.LastIndexByte(plainSrv.URL, ':')+1:]

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	bctx, stop := startBrowser(t, ctx, execPath, chromedp.Flag("host-resolver-rules", "MAP *.example.test 127.0.0.1"))
	defer stop()

	for i, p := range probes {
		base := tlsBase
		if !p.tls {
			base = plainBase
		}
		if err := chromedp.Do(bctx, chromedp.Navigate(fmt.Sprintf("%s/app/set?i=%d", base, i))); err != nil {
			t.Fatalf("probe %s: %v", p.name, err)
		}
		res, err := chromedp.Call(bctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/app/page"}})
		if err != nil {
			t.Fatalf("Network.getCookies: %v", err)
		}
		stored := false
		for _, c := range res.Cookies {
			stored = stored || c.Name == p.name
		}
		where := "https://app.example.test"
		if !p.tls {
			where = "http://localhost"
		}
		p.stored = stored
		t.Logf("%-24s %-18s %-24s New accepts: %-5v  Chromium stores: %v", p.name, p.setting.name, where, p.accepted, stored)
		switch {
		case p.twin == nil && stored != p.accepted:
			t.Errorf("%s with %s on %s: New accepts it: %v (%v); Chromium stores it: %v", p.name, p.setting.name, where, p.accepted, p.err, stored)
		case p.twin != nil && p.accepted:
			t.Errorf("%s with %s on %s: New accepts a prefix in lower case", p.name, p.setting.name, where)
		case p.twin != nil && stored != p.twin.stored:
			t.Errorf("%s with %s on %s: Chromium stores it: %v, and %s: %v (prefixes no longer match case-insensitively?)", p.name, p.setting.name, where, stored, p.twin.name, p.twin.stored)
		}
	}
}
