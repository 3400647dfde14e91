package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

const keysUsage = `usage: cookieseal keys <step> -file FILE [flags]

steps:
  list        show the keys: IDs, statuses, dates, when each may be promoted or removed
  add         add a new decrypt-only key
  promote     make key -id the primary; the old primary becomes decrypt-only
  demote      make the primary -id decrypt-only and promote its one rolled-out successor
  disable     keep key -id but use it for nothing
  enable      make the disabled key -id decrypt-only again
  remove      delete key -id from the file
  emergency-replace
              for a leaked key -id: remove it and, if it is the primary, put a new
              primary in its place, in one write with both guards off
  import      make a key set file (-out) from keys in the one-line form of
              $COOKIESEAL_KEYS, read from -file or from -env NAME
  export-env  print the key set in the one-line form for an environment variable (secrets!)
  policy      show the lifetime policy the key set records; policy set changes it
  export-jwks write (-out) or print the JWK set that another language's JOSE library
              needs to read and write the JWE sessions of cookie -name (secrets!)

list, import, export-env, export-jwks and policy read keys in either form, from
-file or -env NAME. The steps that change keys edit a key set file (JSON), which
records the dates the guards need, and print what they did; -json prints it
as JSON with the key's ID in "key_id".

The guards' durations (rollout delay, absolute timeout, clock skew) are the
lifetime policy recorded in the key set at keygen; no step takes them as
flags. See "cookieseal keys policy -h".

Run "cookieseal keys <step> -h" for a step's flags.
`

func (e *env) keygen(args []string) error {
	fl := e.newFlags("keygen", "keygen -out FILE [-epoch DURATION] [-idle-timeout D] [-absolute-timeout D] [-clock-skew D] [-rollout-delay D] [-force] [-json]\n\nThe four durations are the lifetime policy, recorded in the file for every\ncommand, session manager and peer that reads it (change it later with keys\npolicy set).")
	out := fl.String("out", "", "the key set file to write (required); - writes the key set, secrets included, to standard output")
	epoch := fl.Duration("epoch", 0, "turn on automatic epoch keys with this period, e.g. 24h (0: off)")
	lf := addLifetimeFlags(fl, keyring.Lifetime{}.WithDefaults(), "")
	force := fl.Bool("force", false, "replace an existing file")
	asJSON := fl.Bool("json", false, `print the result as JSON, the new key's ID in "key_id"`)
	if err := e.parse(fl, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-out is required")
	}
	if *out == "-" && *asJSON {
		return usagef("-json and -out - both want standard output")
	}
	if _, err := lf.given(); err != nil {
		return err
	}
	if err := checkLifetime(lf.l); err != nil {
		return err
	}
	k, err := keyring.GenerateKey(keyring.StatusPrimary, e.now())
	if err != nil {
		return err
	}
	set := keyring.Set{Keys: []keyring.Key{k}, EpochPeriod: *epoch, Lifetime: lf.l}
	if err := set.Validate(); err != nil {
		return usagef("-epoch: must be 0 or whole seconds within [%v, %v]", keyring.MinEpochPeriod, keyring.MaxEpochPeriod)
	}
	if *out == "-" {
		data, err := set.MarshalKeyFile()
		if err != nil {
			return err
		}
		defer clear(data)
		fmt.Fprintln(e.stderr, "cookieseal keygen: warning: writing secret keys to standard output")
		_, err = e.stdout.Write(data)
		return err
	}
	if *force {
		err = rotate.WriteKeyFile(*out, set)
	} else {
		err = rotate.CreateKeyFile(*out, set)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists; use -force to replace it (every key in it is lost)", *out)
		}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printStep("keygen", *out, k.ID, set)
	}
	fmt.Fprintf(e.stdout, "wrote %s: primary key %d", *out, k.ID)
	if *epoch != 0 {
		fmt.Fprintf(e.stdout, ", epoch keys every %v", *epoch)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout, fmtLifetime(set.Lifetime))
	return nil
}

// keyFlags holds the flags every keys step shares.
type keyFlags struct {
	file   string
	id     uint64
	asJSON bool
}

func (k *keyFlags) add(fs *flag.FlagSet, withID bool) {
	fs.StringVar(&k.file, "file", "", "the key set file (required)")
	if withID {
		fs.Uint64Var(&k.id, "id", 0, "the key's ID (required)")
	}
}

// addJSON defines -json on a step that changes keys.
func (k *keyFlags) addJSON(fs *flag.FlagSet) {
	fs.BoolVar(&k.asJSON, "json", false, `print the result as JSON, the key's ID in "key_id"`)
}

func (k *keyFlags) check(withID bool) (uint32, error) {
	if k.file == "" {
		return 0, usagef("-file is required")
	}
	if !withID {
		return 0, nil
	}
	if k.id == 0 || k.id > math.MaxUint32 {
		return 0, usagef("-id is required: a key ID from 1 to %d (see keys list)", uint32(math.MaxUint32))
	}
	return uint32(k.id), nil
}

// stepFlags are the flags of a keys step that edits a file under the
// lifecycle guards: -file, -id when the step names a key, -json, and
// -emergency when the step has a guard to turn off. The guards'
// durations come from the key set (see guards).
type stepFlags struct {
	keyFlags
	e         *env
	emergency bool
	withID    bool
}

// newStepFlags defines a step's flags on fs; -emergency when
// emergencyDoc is set. The caller may define more flags before parse.
func (e *env) newStepFlags(fs *flag.FlagSet, withID bool, emergencyDoc string) *stepFlags {
	sf := &stepFlags{e: e, withID: withID}
	sf.add(fs, withID)
	if emergencyDoc != "" {
		fs.BoolVar(&sf.emergency, "emergency", false, emergencyDoc)
	}
	return sf
}

// parse parses args and returns the key ID (0 for a step without -id).
func (sf *stepFlags) parse(fs *flag.FlagSet, args []string) (uint32, error) {
	if err := sf.e.parse(fs, args); err != nil {
		return 0, err
	}
	return sf.check(sf.withID)
}

// warnMode warns when a key set file is readable by anyone.
func (e *env) warnMode(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o007 != 0 {
		fmt.Fprintf(e.stderr, "cookieseal: warning: %s holds secret keys and is accessible to every user (mode %v); chmod o-rwx it\n", path, fi.Mode().Perm())
	}
}

// keySource is where a read-only command takes its keys: -file FILE or
// -env NAME, in either form the library reads.
type keySource struct{ file, env string }

func (ks *keySource) add(fs *flag.FlagSet, what string) {
	fs.StringVar(&ks.file, "file", "", what+": a key set file, or a file holding the one-line form of $COOKIESEAL_KEYS")
	fs.StringVar(&ks.env, "env", "", "read the keys from this environment variable instead of -file, e.g. COOKIESEAL_KEYS (either form)")
}

// name describes the source in messages.
func (ks *keySource) name() string {
	if ks.env != "" {
		return "$" + ks.env
	}
	return ks.file
}

func (ks *keySource) check() error {
	if (ks.file == "") == (ks.env == "") {
		return usagef("give -file or -env (one of them)")
	}
	return nil
}

// readKeys reads the key set of a read-only command: a key set file or
// the compact form, from a file or an environment variable, as
// keyring.ParseString reads them.
func (e *env) readKeys(ks keySource) (keyring.Set, error) {
	if ks.env != "" {
		src := rotate.EnvSource{Name: ks.env, Lookup: func(n string) (string, bool) {
			v := e.getenv(n)
			return v, v != ""
		}}
		return src.Load(context.Background())
	}
	e.warnMode(ks.file)
	return rotate.ReadKeyFile(ks.file) // either form, opened under rotate's rules
}

// errCompactFile explains why the steps that change keys refuse a file in
// the compact form.
var errCompactFile = errors.New("holds keys in the one-line form of $COOKIESEAL_KEYS, which records no lifecycle dates, so the guards cannot work; make a key set file of it with: cookieseal keys import -file FILE -out NEW.json")

func (e *env) keys(step string, args []string) error {
	switch step {
	case "list":
		return e.keysList(args)
	case "add":
		return e.keysAdd(args)
	case "promote", "demote":
		return e.keysPromote(step, args)
	case "disable", "remove":
		return e.keysRetire(step, args)
	case "enable":
		return e.keysEnable(args)
	case "emergency-replace":
		return e.keysEmergencyReplace(args)
	case "import":
		return e.keysImport(args)
	case "export-env":
		return e.keysExportEnv(args)
	case "policy":
		return e.keysPolicy(args)
	case "export-jwks":
		return e.keysExportJWKS(args)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, keysUsage)
		return nil
	}
	fmt.Fprint(e.stderr, keysUsage)
	return usagef("unknown step %q", step)
}

// update applies edit to the file and returns the set before and after.
func (e *env) update(path string, edit func(keyring.Set) (keyring.Set, error)) (before, after keyring.Set, err error) {
	e.warnMode(path)
	parsed := false
	err = rotate.UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		parsed = true
		before = s.Clone()
		after, err = edit(s)
		return after, err
	})
	if !parsed && errors.Is(err, keyring.ErrInvalidKeySet) {
		// Not a key set file: if it reads as the compact form, say why
		// the steps refuse it (nothing was written).
		if _, rerr := rotate.ReadKeyFile(path); rerr == nil {
			return keyring.Set{}, keyring.Set{}, fmt.Errorf("%s %w", path, errCompactFile)
		}
	}
	return before, after, err
}

// stepResult is what a step that creates or changes keys prints with
// -json. KeyID is the key the step created, or else the one it changed.
type stepResult struct {
	Step string `json:"step"`
	File string `json:"file"`
	// KeyID is the key made (keygen, add, the new primary of
	// emergency-replace), promoted, or changed (enable, disable,
	// remove, and demote's successor).
	KeyID uint32 `json:"key_id"`
	// Key is that key after the step, with its dates and when it may be
	// promoted or removed under the key set's lifetime policy; absent
	// once removed.
	Key *listedKey `json:"key,omitempty"`
	// PrimaryID is the primary after the step.
	PrimaryID uint32 `json:"primary_id"`
	// Demoted is the old primary after a promotion.
	Demoted *listedKey `json:"demoted,omitempty"`
	// RemovedID is the key a remove or emergency-replace took out.
	RemovedID uint32 `json:"removed_id,omitempty"`
}

// printStep prints a step's result as JSON.
func (e *env) printStep(step, file string, id uint32, after keyring.Set) error {
	r, err := e.result(step, file, id, after)
	if err != nil {
		return err
	}
	return e.printResult(r)
}

// result is a step's result, its times computed with the guards of the
// key set after the step.
func (e *env) result(step, file string, id uint32, after keyring.Set) (stepResult, error) {
	pol, err := guards(after)
	if err != nil {
		return stepResult{}, err
	}
	r := stepResult{Step: step, File: file, KeyID: id, PrimaryID: primaryOf(after).ID}
	if k, ok := findKey(after, id); ok {
		lk := describe(k, pol, e.now())
		r.Key = &lk
	}
	return r, nil
}

func (e *env) printResult(r stepResult) error { return writeJSON(e.stdout, r) }

func (e *env) keysAdd(args []string) error {
	fs := e.newFlags("keys add", "keys add -file FILE [-json]")
	kf := e.newStepFlags(fs, false, "")
	kf.addJSON(fs)
	if _, err := kf.parse(fs, args); err != nil {
		return err
	}
	var added keyring.Key
	_, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) {
		s, k, err := rotate.Add(s, e.now())
		added = k
		return s, err
	})
	if err != nil {
		return err
	}
	if kf.asJSON {
		return e.printStep("add", kf.file, added.ID, after)
	}
	pol, err := guards(after)
	if err != nil {
		return err
	}
	at, _ := pol.PromotableAt(added)
	fmt.Fprintf(e.stdout, "added key %d (decrypt-only) to %s\n", added.ID, kf.file)
	fmt.Fprintf(e.stdout, "roll it out to every instance, then promote it at %s or later (the rollout delay %v):\n  cookieseal keys promote -file %s -id %d\n", fmtTime(at), pol.Lifetime.RolloutDelay, kf.file, added.ID)
	return nil
}

func (e *env) keysPromote(step string, args []string) error {
	fs := e.newFlags("keys "+step, "keys "+step+" -file FILE -id N [-emergency] [-json]")
	kf := e.newStepFlags(fs, true, "EMERGENCY (a leaked key): promote before the roll-out delay; instances that have not loaded the key reject its cookies until they do")
	kf.addJSON(fs)
	id, err := kf.parse(fs, args)
	if err != nil {
		return err
	}
	var pol rotate.Policy // the durations come from the key set
	if kf.emergency {
		pol.EmergencySkipRolloutDelay = true
		fmt.Fprintln(e.stderr, "cookieseal: EMERGENCY: skipping the roll-out delay; reload every instance now")
	}
	before, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) {
		if step == "demote" {
			return rotate.Demote(s, id, e.now(), pol)
		}
		return rotate.Promote(s, id, e.now(), pol)
	})
	if err != nil {
		return err
	}
	oldP, newP := primaryOf(before), primaryOf(after)
	demoted, _ := findKey(after, oldP.ID)
	guard, err := guards(after)
	if err != nil {
		return err
	}
	if kf.asJSON {
		r, err := e.result(step, kf.file, newP.ID, after)
		if err != nil {
			return err
		}
		d := describe(demoted, guard, e.now())
		r.Demoted = &d
		return e.printResult(r)
	}
	at, _ := guard.RemovableAt(demoted)
	fmt.Fprintf(e.stdout, "key %d is the primary of %s; key %d is decrypt-only\n", newP.ID, kf.file, oldP.ID)
	fmt.Fprintf(e.stdout, "key %d's cookies may stay valid until %s; remove it then:\n  cookieseal keys remove -file %s -id %d\n", oldP.ID, fmtTime(at), kf.file, oldP.ID)
	return nil
}

func (e *env) keysRetire(step string, args []string) error {
	fs := e.newFlags("keys "+step, "keys "+step+" -file FILE -id N [-emergency] [-json]")
	kf := e.newStepFlags(fs, true, "EMERGENCY (a leaked key): "+step+" the key while its cookies may be valid; those sessions end at once")
	kf.addJSON(fs)
	id, err := kf.parse(fs, args)
	if err != nil {
		return err
	}
	var pol rotate.Policy // the durations come from the key set
	if kf.emergency {
		pol.EmergencyRemove = true
		fmt.Fprintf(e.stderr, "cookieseal: EMERGENCY: %s key %d even if its cookies may be valid; their sessions end\n", step, id)
	}
	_, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) {
		if step == "disable" {
			return rotate.Disable(s, id, e.now(), pol)
		}
		return rotate.Remove(s, id, e.now(), pol)
	})
	if err != nil {
		return err
	}
	if kf.asJSON {
		r, err := e.result(step, kf.file, id, after)
		if err != nil {
			return err
		}
		if step == "remove" {
			r.RemovedID = id
		}
		return e.printResult(r)
	}
	past := map[string]string{"disable": "disabled", "remove": "removed"}[step]
	fmt.Fprintf(e.stdout, "%s key %d in %s\n", past, id, kf.file)
	return nil
}

func (e *env) keysEnable(args []string) error {
	fs := e.newFlags("keys enable", "keys enable -file FILE -id N [-json]")
	kf := e.newStepFlags(fs, true, "")
	kf.addJSON(fs)
	id, err := kf.parse(fs, args)
	if err != nil {
		return err
	}
	_, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) { return rotate.Enable(s, id, e.now()) })
	if err != nil {
		return err
	}
	if kf.asJSON {
		return e.printStep("enable", kf.file, id, after)
	}
	pol, err := guards(after)
	if err != nil {
		return err
	}
	k, _ := findKey(after, id)
	at, _ := pol.PromotableAt(k)
	fmt.Fprintf(e.stdout, "key %d in %s is decrypt-only again, enabled at %s\n", id, kf.file, fmtTime(rotate.UsableSince(k)))
	fmt.Fprintf(e.stdout, "instances holding it disabled reject its cookies until they reload; roll it out to every instance, then promote it at %s or later:\n  cookieseal keys promote -file %s -id %d\n", fmtTime(at), kf.file, id)
	return nil
}

func (e *env) keysEmergencyReplace(args []string) error {
	fs := e.newFlags("keys emergency-replace", "keys emergency-replace -file FILE -id LEAKED [-json]")
	var kf keyFlags
	kf.add(fs, true)
	kf.addJSON(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	id, err := kf.check(true)
	if err != nil {
		return err
	}
	var fresh keyring.Key
	_, after, err := e.update(kf.file, func(s keyring.Set) (keyring.Set, error) {
		s, k, err := rotate.EmergencyReplace(s, id, e.now())
		fresh = k
		return s, err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "cookieseal: EMERGENCY: key %d is gone from %s and every session sealed under it has ended; reload every instance now\n", id, kf.file)
	if kf.asJSON {
		keyID := fresh.ID
		if keyID == 0 {
			keyID = id
		}
		r, err := e.result("emergency-replace", kf.file, keyID, after)
		if err != nil {
			return err
		}
		r.RemovedID = id
		return e.printResult(r)
	}
	fmt.Fprintf(e.stdout, "removed key %d from %s\n", id, kf.file)
	if fresh.ID != 0 {
		fmt.Fprintf(e.stdout, "key %d is the new primary\n", fresh.ID)
	}
	return nil
}

// keysImport makes a key set file from keys in either form. Keys without
// dates (the compact form records none) get the cautious ones: added now,
// so that a promotion waits the roll-out delay; a primary promoted now;
// a decrypt-only key demoted now, so that its removal waits until every
// cookie it may have sealed has expired. The new file records the whole
// lifetime policy, as keygen's does: what the source records, else the
// lifetime flags, else the defaults.
func (e *env) keysImport(args []string) error {
	fl := e.newFlags("keys import", "keys import (-file FILE | -env NAME) -out NEW [-idle-timeout D] [-absolute-timeout D] [-clock-skew D] [-rollout-delay D] [-force] [-json]")
	var ks keySource
	ks.add(fl, "the keys to import")
	out := fl.String("out", "", "the key set file to write (required)")
	lf := addLifetimeFlags(fl, keyring.Lifetime{}, "; recorded when the source records none (default: the default value)")
	force := fl.Bool("force", false, "replace an existing -out file")
	asJSON := fl.Bool("json", false, `print the result as JSON, the primary's ID in "key_id"`)
	if err := e.parse(fl, args); err != nil {
		return err
	}
	if err := ks.check(); err != nil {
		return err
	}
	if *out == "" {
		return usagef("-out is required")
	}
	if _, err := lf.given(); err != nil {
		return err
	}
	set, err := e.readKeys(ks)
	if err != nil {
		return err
	}
	var defaulted []string
	for _, f := range lifetimeFlagList {
		dst, v := f.get(&set.Lifetime), *f.get(&lf.l)
		switch {
		case *dst != 0 && v != 0 && *dst != v:
			return usagef("-%s %v: %s records %v; import it as it is and change it with keys policy set", f.flag, v, ks.name(), *dst)
		case *dst == 0 && v != 0:
			*dst = v
		case *dst == 0:
			defaulted = append(defaulted, "-"+f.flag)
		}
	}
	set.Lifetime = set.Lifetime.WithDefaults()
	if err := checkLifetime(set.Lifetime); err != nil {
		return err
	}
	now := e.now().UTC().Truncate(time.Second)
	dated := 0
	for i := range set.Keys {
		k := &set.Keys[i]
		if !k.Added.IsZero() || !k.Promoted.IsZero() || !k.Demoted.IsZero() || !k.Enabled.IsZero() {
			continue
		}
		dated++
		k.Added = now
		switch k.Status {
		case keyring.StatusPrimary:
			k.Promoted = now
		case keyring.StatusDecryptOnly:
			k.Demoted = now
		}
	}
	if *force {
		err = rotate.WriteKeyFile(*out, set)
	} else if err = rotate.CreateKeyFile(*out, set); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; use -force to replace it (every key in it is lost)", *out)
	}
	if err != nil {
		return err
	}
	primary := primaryOf(set).ID
	if *asJSON {
		return e.printStep("import", *out, primary, set)
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d keys from %s, primary key %d\n", *out, len(set.Keys), ks.name(), primary)
	fmt.Fprintln(e.stdout, fmtLifetime(set.Lifetime))
	if len(defaulted) > 0 {
		fmt.Fprintf(e.stdout, "recorded the defaults for %s (neither %s nor a flag gave them): check them against your managers' Options, and change them with keys policy set\n", strings.Join(defaulted, ", "), ks.name())
	}
	if dated > 0 {
		fmt.Fprintf(e.stdout, "%d keys had no dates and count from now: promotion waits the roll-out delay, removal a full drain\n", dated)
	}
	return nil
}

// listedKey is the JSON shape of a key in keys list -json and in a
// step's -json result: no secret.
type listedKey struct {
	ID           uint32     `json:"id"`
	Status       string     `json:"status"`
	Added        *time.Time `json:"added,omitempty"`
	Enabled      *time.Time `json:"enabled,omitempty"`
	Promoted     *time.Time `json:"promoted,omitempty"`
	Demoted      *time.Time `json:"demoted,omitempty"`
	PromotableAt *time.Time `json:"promotable_at,omitempty"`
	RemovableAt  *time.Time `json:"removable_at,omitempty"`
	Note         string     `json:"note"`
}

// describe returns k as listed, with when the guards let it be promoted
// or removed.
func describe(k keyring.Key, pol rotate.Policy, now time.Time) listedKey {
	r := listedKey{ID: k.ID, Status: k.Status.String(), Added: opt(k.Added), Enabled: opt(k.Enabled), Promoted: opt(k.Promoted), Demoted: opt(k.Demoted)}
	promotable, canPromote := pol.PromotableAt(k)
	switch {
	case k.Status == keyring.StatusPrimary:
		r.Note = "seals new cookies"
	case k.Status == keyring.StatusDisabled:
		r.Note = "opens nothing; may be removed"
		r.RemovableAt = opt(now.UTC().Truncate(time.Second))
	case k.Promoted.IsZero() && k.Demoted.IsZero() && canPromote:
		r.PromotableAt = opt(promotable)
		r.Note = "rolling out; promotable " + when(promotable, now)
	default:
		// Enabled again after it sealed (disabled after its demotion,
		// then enabled; with -emergency all in one second of the stamps'
		// precision): it rolls out again. A key demoted within the
		// rollout delay of its addition (keys promote -emergency) and
		// never enabled is also not yet promotable, but it is draining,
		// not rolling out.
		reenabled := !k.Enabled.IsZero() && !k.Enabled.Before(k.Demoted)
		if reenabled && canPromote && now.Before(promotable) {
			r.PromotableAt = opt(promotable)
		}
		at, ok := pol.RemovableAt(k)
		if !ok {
			r.Note = "history unknown; guards need -emergency"
			break
		}
		r.RemovableAt = opt(at)
		r.Note = "draining; removable " + when(at, now)
		if r.PromotableAt != nil {
			r.Note = "enabled, rolling out; promotable " + when(promotable, now) + "; removable " + when(at, now)
		}
	}
	return r
}

func (e *env) keysList(args []string) error {
	fs := e.newFlags("keys list", "keys list (-file FILE | -env NAME) [-json]")
	var ks keySource
	ks.add(fs, "the keys to list")
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
	pol, err := guards(set)
	if err != nil {
		return err
	}
	kr, err := keyring.New(set)
	if err != nil {
		return err
	}
	now := e.now()
	var rows []listedKey
	for _, k := range kr.Keys() {
		rows = append(rows, describe(k, pol, now))
	}
	if *asJSON {
		return writeJSON(e.stdout, struct {
			File        string       `json:"file"`
			EpochPeriod string       `json:"epoch_period,omitempty"`
			Lifetime    lifetimeJSON `json:"lifetime"`
			Keys        []listedKey  `json:"keys"`
		}{ks.name(), durOrEmpty(kr.EpochPeriod()), lifetimeOut(set.Lifetime), rows})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tADDED\tPROMOTED\tDEMOTED\tNOTE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, fmtPtr(r.Added), fmtPtr(r.Promoted), fmtPtr(r.Demoted), r.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := kr.EpochPeriod(); p != 0 {
		fmt.Fprintf(e.stdout, "epoch keys: every %v (epoch now %d)\n", p, kr.Epoch(now))
	} else {
		fmt.Fprintln(e.stdout, "epoch keys: off")
	}
	fmt.Fprintln(e.stdout, fmtLifetime(set.Lifetime))
	return nil
}

func (e *env) keysExportEnv(args []string) error {
	fs := e.newFlags("keys export-env", "keys export-env (-file FILE | -env NAME) -i-know-this-prints-secrets")
	var ks keySource
	ks.add(fs, "the keys to export")
	ok := fs.Bool("i-know-this-prints-secrets", false, "required: the output holds every secret key")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := ks.check(); err != nil {
		return err
	}
	if !*ok {
		return usagef("the output holds every secret key; pass -i-know-this-prints-secrets and send it only to a secret store")
	}
	set, err := e.readKeys(ks)
	if err != nil {
		return err
	}
	s, err := set.MarshalString()
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "cookieseal keys export-env: warning: printing secret keys to standard output (lifecycle dates are not kept in this form)")
	_, err = fmt.Fprintln(e.stdout, s)
	return err
}

func primaryOf(s keyring.Set) keyring.Key {
	for _, k := range s.Keys {
		if k.Status == keyring.StatusPrimary {
			return k
		}
	}
	return keyring.Key{}
}

func findKey(s keyring.Set, id uint32) (keyring.Key, bool) {
	for _, k := range s.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return keyring.Key{}, false
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func fmtPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return fmtTime(*t)
}

func when(at, now time.Time) string {
	if !now.Before(at) {
		return "now"
	}
	return "at " + fmtTime(at)
}

func durOrEmpty(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
