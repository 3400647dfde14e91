package fuzz

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/middleware"
)

// The request view: the middleware reads the session cookie with its own
// scan of the Cookie header (it does not parse every cookie), and must
// see exactly the cookies net/http's Request.Cookies returns: the same
// values (quotes removed, values with a byte net/http refuses dropped),
// nothing past net/http's cookie limit. FuzzRequestView builds Cookie
// headers from an alphabet of plain cookies, chunks and their mixes, and
// compares the session the middleware opens with the one the package
// doc's rules give on net/http's view.

// viewName is the cookie of FuzzRequestView's managers.
const viewName = "__Host-session"

// viewFixture holds two managers (no chunking; MaxChunks 4) and the
// cookies of two users logged in through each, a small and a chunked
// session.
type viewFixture struct {
	managers []*viewManager
}

type viewManager struct {
	m         *middleware.Manager
	h         http.Handler
	maxChunks int
	// users' values: plain[u] is user u's plain value; chunks[u] its
	// chunked session's pieces (with MaxChunks above 1).
	plain  [2]string
	chunks [2][]string
	// owner maps a whole value (plain or joined) to its user.
	owner map[string]string
	// rejected counts the EventRejected the manager reported.
	rejected int
}

var viewUsers = [2]string{"alice", "bob"}

func newViewFixture(f *testing.F) *viewFixture {
	kr := vectorKeyring(f, vectorKeys)
	now := func() time.Time { return vectorNow }
	fx := &viewFixture{}
	for _, maxChunks := range []int{1, 4} {
		opts := middleware.Options{Codec: cookie.Options{Now: now}, MaxChunks: maxChunks}
		if maxChunks > 1 {
			opts.MaxResponseCookieBytes = 16000
		}
		vm := &viewManager{maxChunks: maxChunks, owner: map[string]string{}}
		opts.Observer = middleware.ObserverFunc(func(e middleware.Event) {
			if e.Kind == middleware.EventRejected {
				vm.rejected++
			}
		})
		m, err := middleware.New(kr, viewName, opts)
		if err != nil {
			f.Fatal(err)
		}
		vm.m = m
		vm.h = m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := m.Session(r)
			if err != nil {
				panic(err)
			}
			if u := r.URL.Query().Get("login"); u != "" {
				s.Renew()
				s.SetSubject(u)
				if n, _ := strconv.Atoi(r.URL.Query().Get("big")); n > 0 {
					s.Set("big", strings.Repeat(u[:1], n))
				}
				return
			}
			fmt.Fprint(w, s.Subject())
		}))
		for i, u := range viewUsers {
			sizes := []int{0}
			if maxChunks > 1 {
				sizes = append(sizes, 5000)
			}
			for _, big := range sizes {
				w := httptest.NewRecorder()
				vm.h.ServeHTTP(w, httptest.NewRequest("GET", fmt.Sprintf("https://example.com/?login=%s&big=%d", u, big), nil))
				var pieces []string
				for _, c := range w.Result().Cookies() {
					if c.MaxAge <= 0 {
						continue
					}
					if c.Name == viewName {
						vm.plain[i] = c.Value
						vm.owner[c.Value] = u
					} else {
						pieces = append(pieces, c.Value)
					}
				}
				if big > 0 {
					if len(pieces) < 2 {
						f.Fatalf("setup: %s's big session is not chunked", u)
					}
					vm.chunks[i] = pieces
					vm.owner[strings.Join(pieces, "")] = u
				}
			}
			if vm.plain[i] == "" {
				f.Fatalf("setup: no plain session for %s", u)
			}
		}
		fx.managers = append(fx.managers, vm)
	}
	return fx
}

// header builds the Cookie header lines that data spells for vm: each
// byte is one token (see the switch); the high bits pick a variant.
func (vm *viewManager) header(data []byte) []string {
	lines := []string{""}
	add := func(part string) {
		if lines[len(lines)-1] != "" {
			lines[len(lines)-1] += "; "
		}
		lines[len(lines)-1] += part
	}
	chunk := func(u, i int) string {
		if i < len(vm.chunks[u]) {
			return vm.chunks[u][i]
		}
		return vm.plain[u] // no chunking: a 1-chunk set of the plain value
	}
	for _, b := range data {
		u, hi := int(b>>4)&1, int(b>>5)
		switch b & 15 {
		case 0: // a user's plain cookie
			add(viewName + "=" + vm.plain[u])
		case 1: // a chunk of a user's chunked session
			add(fmt.Sprintf("%s.%d=%s", viewName, hi&1, chunk(u, hi&1)))
		case 2: // junk
			add(viewName + "=junk")
		case 3: // a value net/http drops for a byte it refuses
			add(viewName + "=" + vm.plain[u] + [...]string{"\x7f", `\`, `"`, "\x01", ",", " ", "é", "\t"}[hi])
		case 4: // quoted
			add(viewName + `="` + vm.plain[u] + `"`)
		case 5: // a chunk name past every MaxChunks, or not a chunk name
			add([...]string{viewName + ".7=x", viewName + ".01=x", viewName + ".x=y", viewName + "x=1", "session=x", viewName + ".=z", viewName + ".99999999999999999999=q", `"` + viewName + `"=v`}[hi])
		case 6: // a new Cookie header line
			lines = append(lines, "")
		case 7: // other cookies, sometimes enough to pass scanning limits
			n := [...]int{1, 2, 60, 180, 181, 500, 1500, 3000}[hi]
			add(strings.TrimSuffix(strings.Repeat("o=1; ", n), "; "))
		case 8: // spaces and empty parts
			add([...]string{"", " ", ";", " ; ", "=", viewName, viewName + "=", " " + viewName + " = " + vm.plain[u]}[hi])
		case 9: // a chunk with a byte net/http refuses
			add(fmt.Sprintf("%s.%d=%s\\", viewName, hi&1, chunk(u, hi&1)))
		case 10: // a quoted chunk
			add(fmt.Sprintf(`%s.%d="%s"`, viewName, hi&1, chunk(u, hi&1)))
		case 11: // the last chunk of a 3-chunk set, or a gap
			add(fmt.Sprintf("%s.%d=%s", viewName, 2+hi&1, chunk(u, 1)))
		default: // whitespace around the line
			lines[len(lines)-1] = [...]string{" ", "\t", "  "}[int(b&15)%3] + lines[len(lines)-1]
		}
	}
	return lines
}

// want is the session (its subject, "" for none) that net/http's view of
// r gives under the package doc's rules, and whether the session cookie
// was rejected: the cookies Request.Cookies returns named viewName or
// viewName.N (N a decimal index without leading zeros) below MaxChunks
// are the copies; they agree when every name carries one value however
// often, not both the plain name and chunks, and the chunks are
// 0 … k-1; then the value opens when it is a user's.
func (vm *viewManager) want(r *http.Request) (subject string, rejected bool) {
	var plain []string
	chunks := map[int][]string{}
	maxIdx := -1
	for _, c := range r.Cookies() {
		if c.Name == viewName {
			plain = append(plain, c.Value)
			continue
		}
		rest, ok := strings.CutPrefix(c.Name, viewName+".")
		if !ok || rest == "" || (rest[0] == '0' && len(rest) > 1) || strings.Trim(rest, "0123456789") != "" {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || i >= vm.maxChunks {
			continue // past MaxChunks: not a copy
		}
		chunks[i] = append(chunks[i], c.Value)
		maxIdx = max(maxIdx, i)
	}
	if len(plain) == 0 && len(chunks) == 0 {
		return "", false
	}
	one := func(vs []string) (string, bool) {
		for _, v := range vs[1:] {
			if v != vs[0] {
				return "", false
			}
		}
		return vs[0], true
	}
	var value string
	switch {
	case len(plain) > 0 && len(chunks) > 0:
		return "", true
	case len(plain) > 0:
		v, ok := one(plain)
		if !ok {
			return "", true
		}
		value = v
	default:
		for i := 0; i <= maxIdx; i++ {
			vs, ok := chunks[i]
			if !ok {
				return "", true // a gap
			}
			v, ok := one(vs)
			if !ok {
				return "", true
			}
			value += v
		}
	}
	if u, ok := vm.owner[value]; ok {
		return u, false
	}
	return "", true
}

// FuzzRequestView: for every Cookie header the alphabet spells, the
// middleware opens exactly the session the rules give on net/http's view
// of the request, reports a rejection exactly when they do, and never
// writes more than 4 KB of clearing lines.
func FuzzRequestView(f *testing.F) {
	fx := newViewFixture(f)
	seeds := [][]byte{
		{0x00},                   // alice
		{0x10},                   // bob
		{0x00, 0x00, 0x00},       // alice three times
		{0x00, 0x10},             // alice and bob
		{0x10, 0x00, 0x00, 0x00}, // bob first
		{0x01, 0x21},             // alice's chunks
		{0x01, 0x21, 0x01, 0x21}, // twice
		{0x11, 0x01, 0x21},       // bob's .0 beside alice's set
		{0x00, 0x03},             // alice beside a copy net/http drops
		{0x03},                   // only a dropped copy
		{0x00, 0x04},             // alice plain and quoted
		{0x00, 0xe7},             // alice past net/http's cookie limit
		{0x00, 0x67, 0x87},       // past the scanner's limit
		{0x00, 0x06, 0x00},       // two header lines
		{0x01, 0x06, 0x21},       // chunks over two lines
		{0x01, 0x21, 0x05},       // a chunk past MaxChunks
		{0x01, 0x0b},             // a gap
		{0x00, 0x09},             // a chunk net/http drops
		{0xe8, 0x00},             // spaces around the name
		{0x0c, 0x00, 0x0d},       // whitespace
	}
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			return
		}
		for _, vm := range fx.managers {
			lines := vm.header(data)
			r := httptest.NewRequest("GET", "https://example.com/a/b", nil)
			for _, l := range lines {
				r.Header.Add("Cookie", l)
			}
			wantSub, wantRejected := vm.want(r)
			vm.rejected = 0
			w := httptest.NewRecorder()
			vm.h.ServeHTTP(w, r)
			if got := w.Body.String(); got != wantSub {
				t.Fatalf("MaxChunks %d, Cookie %q: session %q, net/http's view gives %q", vm.maxChunks, lines, got, wantSub)
			}
			clears := 0
			for _, l := range w.Header().Values("Set-Cookie") {
				if strings.Contains(l, "Max-Age=0") {
					clears += len("Set-Cookie: \r\n") + len(l)
				}
			}
			if clears > 4096 {
				t.Fatalf("MaxChunks %d, Cookie %q: %d bytes of clearing lines", vm.maxChunks, lines, clears)
			}
			if rejected := vm.rejected > 0; rejected != wantRejected {
				t.Fatalf("MaxChunks %d, Cookie %q: rejected %v, net/http's view gives %v", vm.maxChunks, lines, rejected, wantRejected)
			}
		}
	})
}
