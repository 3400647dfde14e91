package middleware

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
	"github.com/cookieseal/cookieseal/keyring"
)

// Manager loads, checks and saves the sessions of one cookie. Build it
// once with [New] and wrap handlers with Handler. It is safe for concurrent
// use.
type Manager struct {
	name   string
	keys   keyring.Provider
	codec  *cookie.Codec // seals in cfg.Format, opens every format
	cfg    config
	states sync.Pool // *state
	types  sync.Map  // reflect.Type → bool: may decoding create interface values

	// With MaxChunks > 1: the chunk names, and the Set-Cookie lines that
	// expire the plain cookie and each chunk, built once (they never
	// change) for the writes that expire every unused cookie.
	chunkNames  []string
	clearPlain  string
	clearChunks []string
	// reach is how many chunk indices a write within
	// MaxResponseCookieBytes can set (see chunkReach); indices from
	// reach on are cleared only when the request carried them.
	reach int
}

// New returns a manager for the cookie name, sealed under the keyring that
// keys provides (called on every request, so rotation can swap keys under
// a running manager). Invalid options are refused with an error that says
// which rule they break and matches [ErrInvalidConfig].
//
// An empty name is [DefaultName], "__Host-session". A name without the
// "__Host-" prefix is refused unless Options.InsecureNoHostPrefix
// acknowledges what it leaves open (a sibling host can log a visitor
// without a session into its own).
//
// The timeouts and clock skew that opts leaves zero are the lifetime
// policy that the keyring in force at New records ([keyring.Lifetime]),
// else the defaults; an AbsoluteTimeout or ClockSkew longer than the
// recorded one is refused, naming both values. The manager keeps these
// values: a key set reloaded later with another policy takes effect
// when the manager is built again.
func New(keys keyring.Provider, name string, opts Options) (*Manager, error) {
	m, err := newManager(keys, name, opts)
	if err != nil {
		return nil, configError{err}
	}
	return m, nil
}

func newManager(keys keyring.Provider, name string, opts Options) (*Manager, error) {
	if name == "" {
		name = DefaultName
	}
	if keys == nil || keys.Keyring() == nil {
		return nil, errors.New("middleware: no keyring")
	}
	var err error
	opts.Codec, err = withRecordedLifetime(keys.Keyring(), name, opts.Codec)
	if err != nil {
		return nil, err
	}
	cfg, err := resolve(name, opts)
	if err != nil {
		return nil, err
	}
	codec, err := cookie.New(keys, name, cookie.Options{
		IdleTimeout:     cfg.IdleTimeout,
		AbsoluteTimeout: cfg.AbsoluteTimeout,
		ClockSkew:       cfg.ClockSkew,
		MaxValueSize:    cfg.maxLen,
		Now:             cfg.Now,
		Usage:           cfg.Usage,
		Format:          cfg.Format,
	})
	if err != nil {
		return nil, fmt.Errorf("middleware: cookie %q: %w", name, err)
	}
	if err := fitsLine(keys, name, cfg); err != nil {
		return nil, err
	}
	m := &Manager{name: name, keys: keys, codec: codec, cfg: cfg}
	if cfg.MaxChunks >= 1 {
		// With MaxChunks 1 too: a request may carry name.0 (a set of
		// one chunk, which opens), and its clearing line is the same.
		m.clearPlain = m.clearLine(name)
		m.chunkNames = make([]string, cfg.MaxChunks)
		m.clearChunks = make([]string, cfg.MaxChunks)
		for i := range m.chunkNames {
			m.chunkNames[i] = cookie.ChunkName(name, i)
			m.clearChunks[i] = m.clearLine(m.chunkNames[i])
		}
	}
	m.reach = m.chunkReach()
	if err := m.fitsBudget(keys); err != nil {
		return nil, err
	}
	return m, nil
}

// fitsLine refuses attributes so long that a Set-Cookie line of 4096
// bytes has no room left for the smallest sealed session: a new, empty
// one. Its size is measured by sealing one with a throwaway codec (so
// Usage hears nothing); a failure to seal (a key that cannot seal, a
// MaxValueSize too small for any session) is left for the first save to
// report, as before.
func fitsLine(keys keyring.Provider, name string, cfg config) error {
	probe, err := probeCodec(keys, name, cfg)
	if err != nil {
		return nil // New's own codec was built with these options
	}
	minimal, err := probe.Seal(jsonscan.EncodeEnvelope(nil, newID(), "", nil, nil), time.Time{})
	if err != nil {
		return nil // the first save reports it, as before
	}
	attrs := cfg.lineLen(len(name), 0, cfg.maxMaxAge())
	if attrs+len(minimal) > maxCookieLine {
		return fmt.Errorf("middleware: cookie %q: its name and attributes (Domain, Path, …) take %d of the %d bytes of a Set-Cookie line, leaving %d; the smallest sealed session needs %d: shorten Domain or Path",
			name, attrs, maxCookieLine, max(maxCookieLine-attrs, 0), len(minimal))
	}
	return nil
}

// probeCodec returns a codec like the manager's, in its format, that
// tells Usage nothing: for measuring the smallest sealed session.
func probeCodec(keys keyring.Provider, name string, cfg config) (*cookie.Codec, error) {
	return cookie.New(keys, name, cookie.Options{
		IdleTimeout:     cfg.IdleTimeout,
		AbsoluteTimeout: cfg.AbsoluteTimeout,
		ClockSkew:       cfg.ClockSkew,
		MaxValueSize:    cfg.maxLen,
		Now:             cfg.Now,
		Format:          cfg.Format,
	})
}

// Name returns the cookie's name.
func (m *Manager) Name() string { return m.name }

// now returns the current time at the millisecond precision of sealed
// timestamps.
func (m *Manager) now() time.Time {
	return time.UnixMilli(m.cfg.Now().UnixMilli())
}

// emit tells the observer of e. Only call it when observing.
func (m *Manager) emit(e Event) {
	e.Cookie = m.name
	m.cfg.Observer.Observe(e)
}

// observing reports whether anyone listens to events: when no one does,
// the request path builds none.
func (m *Manager) observing() bool {
	return m.cfg.Observer != nil
}
