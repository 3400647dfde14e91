package cookie

import (
	"fmt"

	"github.com/cookieseal/cookieseal/keyring"
)

// withRecordedLifetime returns opts with IdleTimeout, AbsoluteTimeout and
// ClockSkew taken from the lifetime policy that kr records where opts
// leaves them zero, and the defaults where kr records none. An
// AbsoluteTimeout or ClockSkew longer than the recorded one is refused:
// package rotate removes a demoted key once the recorded values have
// passed, and values this codec sealed under it would still be valid.
func withRecordedLifetime(kr *keyring.Keyring, opts Options) (Options, error) {
	rec := kr.Lifetime()
	if rec.AbsoluteTimeout != 0 && opts.AbsoluteTimeout > rec.AbsoluteTimeout {
		return opts, fmt.Errorf("cookie: AbsoluteTimeout %v is longer than the absolute_timeout %v the key set records, which key rotation counts on before removing a key; record the longer one (cookieseal keys policy set) or leave AbsoluteTimeout zero", opts.AbsoluteTimeout, rec.AbsoluteTimeout)
	}
	if rec.ClockSkew != 0 && opts.ClockSkew > rec.ClockSkew {
		return opts, fmt.Errorf("cookie: ClockSkew %v is longer than the clock_skew %v the key set records, which key rotation counts on before removing a key; record the longer one (cookieseal keys policy set) or leave ClockSkew zero", opts.ClockSkew, rec.ClockSkew)
	}
	def := rec.WithDefaults()
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = def.IdleTimeout
	}
	if opts.AbsoluteTimeout == 0 {
		opts.AbsoluteTimeout = def.AbsoluteTimeout
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = def.ClockSkew
	}
	return opts, nil
}
