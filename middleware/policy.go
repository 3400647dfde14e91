package middleware

import (
	"fmt"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

// withRecordedLifetime returns o with IdleTimeout, AbsoluteTimeout and
// ClockSkew taken from the lifetime policy that kr (the keyring in force
// at New) records where o leaves them zero; what kr does not record
// keeps its default (resolve). An AbsoluteTimeout or ClockSkew longer
// than the recorded one is refused: package rotate removes a demoted key
// once the recorded rollout delay + absolute timeout + clock skew have
// passed, and sessions this manager sealed under it would still be
// valid, so the removal would log them out.
func withRecordedLifetime(kr *keyring.Keyring, name string, o cookie.Options) (cookie.Options, error) {
	rec := kr.Lifetime()
	if rec.AbsoluteTimeout != 0 && o.AbsoluteTimeout > rec.AbsoluteTimeout {
		return o, longerThanRecorded(name, "AbsoluteTimeout", "absolute_timeout", "-absolute-timeout", o.AbsoluteTimeout, rec.AbsoluteTimeout)
	}
	if rec.ClockSkew != 0 && o.ClockSkew > rec.ClockSkew {
		return o, longerThanRecorded(name, "ClockSkew", "clock_skew", "-clock-skew", o.ClockSkew, rec.ClockSkew)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = rec.IdleTimeout
	}
	if o.AbsoluteTimeout == 0 {
		o.AbsoluteTimeout = rec.AbsoluteTimeout
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = rec.ClockSkew
	}
	return o, nil
}

func longerThanRecorded(name, field, recName, flag string, set, recorded time.Duration) error {
	return fmt.Errorf("middleware: cookie %q: Options.Codec.%s %v is longer than the %s %v that the key set records, which key rotation waits for before it removes a key, so sessions would outlive their key: record %v in the key set (cookieseal keys policy set %s %v) or leave Options.Codec.%s zero to use the recorded value",
		name, field, set, recName, recorded, set, flag, set, field)
}
