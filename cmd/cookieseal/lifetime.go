package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

// The lifetime policy (keyring.Lifetime) is written once, in the key set:
// keygen records it from its flags, keys policy set changes it, and every
// other command reads it from the key set it is given. No other command
// takes a lifetime flag.

// guards returns the lifecycle guards' policy for set: the durations the
// key set records, else the defaults, as every rotate step resolves them.
// It is the one place the commands get the durations from which they
// compute and print when a key may be promoted or removed.
func guards(set keyring.Set) (rotate.Policy, error) {
	return rotate.Policy{}.Resolve(set)
}

// lifetimeFlag describes one lifetime field: its flag, its key set field
// and the Lifetime field it sets.
type lifetimeFlag struct {
	flag, field, doc string
	get              func(*keyring.Lifetime) *time.Duration
}

var lifetimeFlagList = []lifetimeFlag{
	{"idle-timeout", "idle_timeout", "a session ends when no request refreshed it for this long (the managers' IdleTimeout)",
		func(l *keyring.Lifetime) *time.Duration { return &l.IdleTimeout }},
	{"absolute-timeout", "absolute_timeout", "a session ends this long after login whatever its activity; the longest AbsoluteTimeout any manager on these keys may use, which remove and disable wait for",
		func(l *keyring.Lifetime) *time.Duration { return &l.AbsoluteTimeout }},
	{"clock-skew", "clock_skew", "how far the instances' clocks may disagree (at most 1m)",
		func(l *keyring.Lifetime) *time.Duration { return &l.ClockSkew }},
	{"rollout-delay", "rollout_delay", "how long a key set change takes to reach every instance (reload interval, or a deploy); promote waits for it",
		func(l *keyring.Lifetime) *time.Duration { return &l.RolloutDelay }},
}

// lifetimeFlags are the flags that write the lifetime policy: keygen's,
// keys import's and keys policy set's.
type lifetimeFlags struct {
	fs *flag.FlagSet
	l  keyring.Lifetime
}

// addLifetimeFlags defines -idle-timeout, -absolute-timeout, -clock-skew
// and -rollout-delay on fs with the defaults of def (zero: not given).
func addLifetimeFlags(fs *flag.FlagSet, def keyring.Lifetime, suffix string) *lifetimeFlags {
	lf := &lifetimeFlags{fs: fs}
	for _, f := range lifetimeFlagList {
		fs.DurationVar(f.get(&lf.l), f.flag, *f.get(&def), f.doc+suffix)
	}
	return lf
}

// given returns the flags given on the command line, checked: each
// positive (Set.Validate checks the bounds).
func (lf *lifetimeFlags) given() ([]lifetimeFlag, error) {
	var out []lifetimeFlag
	var err error
	lf.fs.Visit(func(fl *flag.Flag) {
		for _, f := range lifetimeFlagList {
			if f.flag == fl.Name {
				if *f.get(&lf.l) <= 0 && err == nil {
					err = usagef("-%s must be positive", f.flag)
				}
				out = append(out, f)
			}
		}
	})
	return out, err
}

// checkLifetime validates a lifetime about to be recorded, as a usage
// error naming the rule it breaks.
func checkLifetime(l keyring.Lifetime) error {
	probe, err := keyring.NewKey(1, keyring.StatusPrimary, []byte(strings.Repeat("\x01", keyring.SecretSize)))
	if err != nil {
		return err
	}
	if err := (keyring.Set{Keys: []keyring.Key{probe}, Lifetime: l}).Validate(); err != nil {
		return usageError{msg: strings.TrimPrefix(err.Error(), keyring.ErrInvalidKeySet.Error()+": ")}
	}
	return nil
}

// lifetimeJSON is the lifetime policy in -json output: the values in
// force, and the fields the key set does not record (their defaults).
type lifetimeJSON struct {
	IdleTimeout     string   `json:"idle_timeout"`
	AbsoluteTimeout string   `json:"absolute_timeout"`
	ClockSkew       string   `json:"clock_skew"`
	RolloutDelay    string   `json:"rollout_delay"`
	Defaults        []string `json:"defaults,omitempty"`
}

func lifetimeOut(l keyring.Lifetime) lifetimeJSON {
	d := l.WithDefaults()
	out := lifetimeJSON{d.IdleTimeout.String(), d.AbsoluteTimeout.String(), d.ClockSkew.String(), d.RolloutDelay.String(), nil}
	for _, f := range lifetimeFlagList {
		if *f.get(&l) == 0 {
			out.Defaults = append(out.Defaults, f.field)
		}
	}
	return out
}

// fmtLifetime is the lifetime policy on one line, as every command
// prints it: the values in force, "(default)" after those the key set
// does not record.
func fmtLifetime(l keyring.Lifetime) string {
	d := l.WithDefaults()
	none := l == (keyring.Lifetime{})
	var b strings.Builder
	b.WriteString("lifetime:")
	if none {
		b.WriteString(" (not recorded in the key set: the defaults)")
	}
	for i, f := range lifetimeFlagList {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %v", f.flag, *f.get(&d))
		if *f.get(&l) == 0 && !none {
			b.WriteString(" (default)")
		}
	}
	if none {
		b.WriteString("; record it with cookieseal keys policy set")
	}
	return b.String()
}

// removedEnv are the environment variables that set the guards'
// durations before the key set recorded them, and the flag of keys
// policy set that records each instead.
var removedEnv = []struct{ name, flag string }{
	{"COOKIESEAL_ROLLOUT_DELAY", "-rollout-delay"},
	{"COOKIESEAL_MAX_SESSION_AGE", "-absolute-timeout"},
	{"COOKIESEAL_CLOCK_SKEW", "-clock-skew"},
}

// checkRemovedEnv refuses to run while a removed variable is set: its
// value would be ignored, and the guards would use what the key set
// records (the defaults, for an old file), which may be shorter.
func (e *env) checkRemovedEnv() error {
	for _, r := range removedEnv {
		if v := e.getenv(r.name); v != "" {
			return usagef("environment variable %s is no longer read: the lifetime policy is recorded in the key set, the one place the commands, the library and the Python peer read it. Record it once with: cookieseal keys policy set -file FILE %s %s; then unset %s", r.name, r.flag, v, r.name)
		}
	}
	return nil
}

const policyUsage = `keys policy [show] (-file FILE | -env NAME) [-json]
       cookieseal keys policy set -file FILE [-idle-timeout D] [-absolute-timeout D] [-clock-skew D] [-rollout-delay D] [-allow-shorter] [-json]

Shows, or with set records, the lifetime policy kept in the key set. Every
command and the library read it there; instances apply a change when they
reload the file (the guards) and when their session managers are built
again (restart them).`

// keysPolicy shows the lifetime policy (keys policy [show]) or records
// a new one (keys policy set).
func (e *env) keysPolicy(args []string) error {
	if len(args) > 0 && args[0] == "set" {
		return e.keysPolicySet(args[1:])
	}
	if len(args) > 0 && args[0] == "show" {
		args = args[1:]
	}
	fs := e.newFlags("keys policy", policyUsage)
	var ks keySource
	ks.add(fs, "the key set whose policy to show")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := ks.check(); err != nil {
		return err
	}
	set, err := e.readKeys(ks)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, struct {
			File     string       `json:"file"`
			Lifetime lifetimeJSON `json:"lifetime"`
		}{ks.name(), lifetimeOut(set.Lifetime)})
	}
	_, err = fmt.Fprintln(e.stdout, fmtLifetime(set.Lifetime))
	return err
}

func (e *env) keysPolicySet(args []string) error {
	fs := e.newFlags("keys policy set", policyUsage)
	var kf keyFlags
	kf.add(fs, false)
	lf := addLifetimeFlags(fs, keyring.Lifetime{}, "")
	allowShorter := fs.Bool("allow-shorter", false, "record a shorter -absolute-timeout, -clock-skew or -rollout-delay than the one in force; see the help")
	kf.addJSON(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if _, err := kf.check(false); err != nil {
		return err
	}
	given, err := lf.given()
	if err != nil {
		return err
	}
	if len(given) == 0 {
		return usagef("give at least one of -idle-timeout, -absolute-timeout, -clock-skew, -rollout-delay")
	}
	var was keyring.Lifetime
	_, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) {
		was = s.Lifetime
		in := s.Lifetime.WithDefaults()
		for _, f := range given {
			v := *f.get(&lf.l)
			// Every guard but the idle timeout is a wait that protects cookies
			// already out (RemovableAt) or instances not yet reloaded
			// (PromotableAt): shortening one needs the acknowledgement.
			shorter := v < *f.get(&in) && f.field != "idle_timeout"
			if shorter && !*allowShorter {
				return s, fmt.Errorf("-%s %v is shorter than the %v in force: a key demoted before now, or the primary once it is demoted, could then be removed while cookies sealed under the longer value are still valid, or a new key promoted before every instance has loaded it (running instances keep the old value until they restart); pass -allow-shorter to record it anyway", f.flag, v, *f.get(&in))
			}
			*f.get(&s.Lifetime) = v
		}
		if err := checkLifetime(s.Lifetime); err != nil {
			return s, err
		}
		return s, nil
	})
	if err != nil {
		return err
	}
	if kf.asJSON {
		return writeJSON(e.stdout, struct {
			Step     string       `json:"step"`
			File     string       `json:"file"`
			Lifetime lifetimeJSON `json:"lifetime"`
		}{"policy set", kf.file, lifetimeOut(after.Lifetime)})
	}
	if was == after.Lifetime {
		fmt.Fprintf(e.stdout, "%s already records this policy\n", kf.file)
	} else {
		fmt.Fprintf(e.stdout, "recorded in %s\n", kf.file)
	}
	fmt.Fprintln(e.stdout, fmtLifetime(after.Lifetime))
	fmt.Fprintln(e.stdout, "the guards of every keys step use it now; instances use it once they reload the file, and their session managers once they are built again (restart them)")
	return nil
}
