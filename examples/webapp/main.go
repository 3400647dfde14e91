// Command webapp is the classic server-rendered login flow on cookieseal:
// a login form, a dashboard for logged-in users only (RequireSubject),
// logout, "log out my other devices", "log out everywhere", and flash
// messages.
//
//	go run ./examples/webapp                 # http://127.0.0.1:8080, a throwaway development key
//	COOKIESEAL_KEYS=… go run ./examples/webapp -addr :8443 -cert cert.pem -key key.pem
//
// Without COOKIESEAL_KEYS it generates a key at start (every restart logs
// everyone out) and says so. Over plain HTTP it only listens on a loopback
// address, and says so too; its cookie is the same Secure "__Host-session"
// as over HTTPS (with -cert and -key), which browsers accept from
// http://127.0.0.1 and http://localhost.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/middleware"
	"github.com/cookieseal/cookieseal/revoke"
)

// demoPassword is the password of every user of this demo, shown on the
// login page.
const demoPassword = "cookieseal"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv("COOKIESEAL_KEYS"), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, envKeys string, stderr io.Writer) error {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	cert := fs.String("cert", "", "TLS certificate file (serve HTTPS)")
	key := fs.String("key", "", "TLS key file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tls := *cert != "" || *key != ""
	if tls && (*cert == "" || *key == "") {
		return errors.New("-cert and -key go together")
	}
	if !tls && !isLoopback(*addr) {
		return fmt.Errorf("refusing to serve sessions over plain HTTP on %s: listen on 127.0.0.1 or give -cert and -key", *addr)
	}

	kr, err := loadKeys(envKeys, stderr)
	if err != nil {
		return err
	}
	if !tls {
		banner(stderr, "DEVELOPMENT MODE: plain HTTP on loopback. The __Host-session cookie keeps",
			"Secure (browsers accept it from http://127.0.0.1 and localhost); any other",
			"address needs HTTPS: give -cert and -key in production.")
	}
	h, err := newApp(appConfig{keys: kr, secure: tls})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	fmt.Fprintf(stderr, "webapp: listening on %s://%s (password for any user: %q)\n", scheme, ln.Addr(), demoPassword)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- srv.ServeTLS(ln, *cert, *key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// loadKeys reads the key set from COOKIESEAL_KEYS, or generates a
// development key and says so loudly.
func loadKeys(env string, stderr io.Writer) (*keyring.Keyring, error) {
	if strings.TrimSpace(env) != "" {
		set, err := keyring.ParseString(env)
		if err != nil {
			return nil, fmt.Errorf("COOKIESEAL_KEYS: %w", err)
		}
		return keyring.New(set)
	}
	kr, err := keyring.Generate()
	if err != nil {
		return nil, err
	}
	banner(stderr, "USING A GENERATED DEVELOPMENT KEY: COOKIESEAL_KEYS is not set.",
		"Sessions die with this process. For anything real, create a key set",
		"and pass it in COOKIESEAL_KEYS (see package keyring).")
	return kr, nil
}

func banner(w io.Writer, lines ...string) {
	bar := strings.Repeat("!", 80)
	fmt.Fprintln(w, bar)
	for _, l := range lines {
		fmt.Fprintln(w, "!!! "+l)
	}
	fmt.Fprintln(w, bar)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type appConfig struct {
	keys    keyring.Provider
	secure  bool             // HTTPS (the cookie is the same Secure __Host- one either way)
	now     func() time.Time // nil: time.Now
	revoker revoke.Revoker   // nil: an in-memory list
}

type app struct {
	sessions *middleware.Manager
	tmpl     *template.Template
}

// newApp returns the web app's handler: CSRF protection, then sessions,
// then the routes.
func newApp(cfg appConfig) (http.Handler, error) {
	if cfg.revoker == nil {
		cfg.revoker = revoke.NewMemory(revoke.MemoryOptions{Now: cfg.now})
	}
	// "__Host-session", Secure, over HTTPS and plain-HTTP loopback alike:
	// Chromium and Firefox store and send Secure cookies for
	// http://127.0.0.1 and http://localhost (TestBrowserDevelopmentMode).
	name, opts := middleware.DefaultName, middleware.Options{}
	opts.Codec.Now = cfg.now
	opts.Codec.IdleTimeout = 30 * time.Minute
	opts.Codec.AbsoluteTimeout = 12 * time.Hour
	opts.Revoker = cfg.revoker
	sessions, err := middleware.New(cfg.keys, name, opts)
	if err != nil {
		return nil, err
	}
	a := &app{sessions: sessions, tmpl: template.Must(template.New("page").Parse(pageHTML))}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.login)
	// Pages for logged-in users only: RequireSubject sends anyone else
	// to the login form.
	loggedIn := middleware.RequireSubject(http.HandlerFunc(a.pleaseLogIn))
	mux.Handle("GET /dashboard", loggedIn(http.HandlerFunc(a.dashboard)))
	mux.Handle("POST /logout-others", loggedIn(http.HandlerFunc(a.logoutOthers)))
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /logout-everywhere", a.logoutEverywhere)

	csrf := http.NewCrossOriginProtection()
	return securityHeaders(csrf.Handler(sessions.Handler(mux))), nil
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

type page struct {
	Title    string
	Flashes  []string
	User     string
	Password string
	Visits   int
	Since    string
	Expires  string
	SID      string
}

func (a *app) render(w http.ResponseWriter, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// An error here means the client went away mid-page: the response has
	// started, so there is nothing left to tell it.
	_ = a.tmpl.Execute(w, p)
}

// session returns the request's session or answers 500.
func (a *app) session(w http.ResponseWriter, r *http.Request) (*middleware.Session, bool) {
	s, err := middleware.From(r)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, false
	}
	return s, true
}

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	if s.Authenticated() { // the one logged-in check: the session has a subject
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	flashes, _ := middleware.PopFlashes[string](s)
	a.render(w, page{Title: "Log in", Flashes: flashes, Password: demoPassword})
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	pass := r.PostFormValue("password")
	if user == "" || len(user) > 64 || subtle.ConstantTimeCompare([]byte(pass), []byte(demoPassword)) != 1 {
		s.AddFlash("Wrong user name or password.")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	// A new session id at login: whatever id the visitor had before
	// (perhaps planted by an attacker) is worth nothing now. Renew fails
	// only when the revocation store does (or the old session was
	// revoked): then no login, and the visitor's cookie is left as it is.
	if err := s.Renew(); err != nil {
		unavailable(w, err)
		return
	}
	s.SetSubject(user) // from now on the session is Authenticated
	s.Set("visits", 0)
	s.AddFlash("Welcome, " + user + ".")
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// pleaseLogIn answers a request for a logged-in page without a logged-in
// session (RequireSubject's deny handler): off to the login form.
func (a *app) pleaseLogIn(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	// During a revocation-store outage the request has no session and
	// AddFlash says so: the user is not logged out, only unchecked, so
	// say "try again" rather than show the login form.
	if err := s.AddFlash("Please log in first."); err != nil {
		unavailable(w, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// dashboard is behind RequireSubject: the session is logged in.
func (a *app) dashboard(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	user := s.Subject()
	visits, _, _ := middleware.Get[int](s, "visits")
	visits++
	s.Set("visits", visits)
	flashes, _ := middleware.PopFlashes[string](s)
	a.render(w, page{
		Title:   "Dashboard",
		Flashes: flashes,
		User:    user,
		Visits:  visits,
		Since:   s.IssuedAt().UTC().Format(time.RFC1123),
		SID:     s.ID()[:8] + "…",
	})
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	// Destroy revokes this session's id, so a copy of the cookie is dead
	// too; the cookie goes from this browser even when the revocation
	// store fails, but then a copy still works, and the user is told.
	// This app puts the user in SetSubject at login, so a session without
	// a subject (ErrNoSubject: nothing revoked) is a visitor who was not
	// logged in, and grants nothing.
	switch err := s.Destroy(); {
	case errors.Is(err, middleware.ErrNoSubject):
		s.AddFlash("You were not logged in.")
	case err != nil:
		s.AddFlash("You are logged out in this browser, but the server could not revoke the session: a copy of it stays valid until it expires.")
	default:
		s.AddFlash("You are logged out.")
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// unavailable answers 503 for a revocation-store fault, 500 otherwise.
func unavailable(w http.ResponseWriter, err error) {
	if errors.Is(err, middleware.ErrRevokeFault) {
		http.Error(w, "sessions are unavailable for a moment; try again", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// logoutOthers is behind RequireSubject: it logs the user out of every
// other session and keeps this one (renewed).
func (a *app) logoutOthers(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	switch err := s.RevokeOthers(r.Context()); {
	case errors.Is(err, revoke.ErrRevoked):
		a.pleaseLogIn(w, r) // revoked from elsewhere meanwhile: this one is gone too
		return
	case err != nil:
		unavailable(w, err)
		return
	}
	s.AddFlash("You are logged out on every other device.")
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

func (a *app) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	s, ok := a.session(w, r)
	if !ok {
		return
	}
	if s.Authenticated() {
		if err := a.sessions.RevokeSubject(r.Context(), s.Subject()); err != nil { // this session too
			http.Error(w, "could not log out everywhere; try again", http.StatusServiceUnavailable)
			return
		}
	}
	switch err := s.Destroy(); {
	case errors.Is(err, middleware.ErrNoSubject):
		s.AddFlash("You were not logged in.")
	case err != nil:
		s.AddFlash("You are logged out on every other device; this session could not be revoked.")
	default:
		s.AddFlash("You are logged out on every device.")
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

const pageHTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}} · cookieseal demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
.flash{background:#eef6ee;border:1px solid #9c9;padding:.5rem 1rem}
form{display:inline}input{font:inherit}</style></head>
<body>
<h1>{{.Title}}</h1>
{{range .Flashes}}<p class="flash">{{.}}</p>
{{end}}{{if .User}}<p>Logged in as <strong>{{.User}}</strong> since {{.Since}} (session {{.SID}}).</p>
<p>You have seen this page {{.Visits}} time(s) in this session.</p>
<form method="post" action="/logout"><button>Log out</button></form>
<form method="post" action="/logout-others"><button>Log out other devices</button></form>
<form method="post" action="/logout-everywhere"><button>Log out everywhere</button></form>
{{else}}<form method="post" action="/login">
<p><label>User name <input name="user" required maxlength="64" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" required autocomplete="current-password"></label></p>
<p><button>Log in</button></p>
</form>
<p>Demo: any user name, password <code>{{.Password}}</code>.</p>
{{end}}</body>
</html>
`
