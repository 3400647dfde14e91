// Package rotate changes the keys of a running fleet without logging
// anyone out: a [Holder] hands the keyring in force to codecs, a [Reloader]
// swaps in new key sets from a [Source], and pure functions step keys
// through their lifecycle under guards.
//
// For most uses, load the key set file into a Holder, give the Holder to
// the codec or session manager, and start the Reloader's Run:
//
//	src := rotate.NewFileSource("/etc/myapp/keys.json")
//	h, err := rotate.LoadHolder(ctx, src)
//	if err != nil { … }
//	r, err := rotate.NewReloader(h, src, rotate.ReloaderOptions{OnError: logErr})
//	if err != nil { … }
//	go r.Run(ctx) // polls every 10s; returns when ctx is done
//	codec, err := cookie.New(h, "session", cookie.Options{})
//
// The operator edits the file with the cookieseal command (or with [Add],
// [Promote], [Remove] and [UpdateKeyFile]), and every instance picks the change
// up within the reload interval.
//
// # Key lifecycle
//
// A master key moves through the states of Tink's key management:
//
//	Add      → decrypt-only: opens values, seals none, while it rolls out
//	Promote  → primary: seals new values
//	(demote)   the old primary becomes decrypt-only in the same step and
//	           keeps opening the values it sealed while they drain
//	Remove   → gone, once no value sealed under it can still be valid
//
// [Demote] is the same step seen from the old primary: it promotes the
// one key that is rolling out. [Disable] takes a key out of use but keeps
// it ([Enable] brings it back); [EmergencyReplace] removes a leaked key and,
// if it was the primary, puts a new one in its place in one step.
//
// Two guards keep every valid session working. Promote refuses a key
// added or enabled less than the rollout delay ago ([ErrTooSoon]): an
// instance that has not loaded it yet, or still holds it disabled, would
// reject the values it seals. Remove and Disable refuse a key demoted
// less than rollout delay + absolute timeout + clock skew ago ([ErrInUse]):
// a value it sealed may still be valid. Each guard has an override named
// for what it is for, Policy.EmergencySkipRolloutDelay and
// Policy.EmergencyRemove: a leaked key.
//
// The guards' durations are the key set's lifetime policy
// (keyring.Lifetime), recorded once in the key set file at "cookieseal
// keygen" and read by every part: the steps take them from the set they
// are given ([Policy.Resolve]), so a [Policy] leaves them zero; the session
// manager refuses a longer AbsoluteTimeout than the one the removal
// guard counts; the cookieseal command prints every promotable and
// removable time from the same resolved Policy. A key set that records
// no policy uses the Policy's durations, else the defaults (1h, 7 days,
// 30s).
//
// The steps are pure: they take a keyring.Set and an explicit time and
// return a new Set that passes Set.Validate, never changing their input.
//
// # Key set files
//
// This package is where key set files on disk are read and written
// (package keyring only turns a key set into text and back): [ReadKeyFile]
// and [FileSource] read one (a key set file, or the compact one-line form
// of $COOKIESEAL_KEYS in a file), [CreateKeyFile] makes a new one,
// [WriteKeyFile] replaces one whatever it holds, and UpdateKeyFile edits one
// under a lock. WriteKeyFile and UpdateKeyFile replace a key set file atomically
// (temporary file, sync, rename). UpdateKeyFile holds an advisory lock
// (flock on "<file>.lock") across its read, edit and write, so concurrent
// cookieseal commands never lose an edit; where flock does not exist the
// lock is skipped and a read-compare check is the only guard. A key set
// file reached through a symbolic link is replaced where the link points,
// and the link is kept.
//
// # Epoch keys
//
// With keyring.Set.EpochPeriod set, the AEAD key that seals at time t is
// derived from the primary master key and floor(t / EpochPeriod), and the
// epoch is written in each value's header. Instances change epoch keys in
// step by their clocks alone, so epochs need no background work and no
// reload. A value from an earlier epoch opens while it is within its
// lifetime; one from an epoch beyond the clock-skew allowance is refused.
// Changing the period (or turning epochs on or off) ends every session
// sealed before the change; a Reloader reports it as [ErrEpochChange].
//
// # Draining
//
// A [Usage] counts seals and opens per key and epoch. Passed as
// cookie.Options.Usage, it shows when a demoted key has drained: the
// session manager re-seals a valid cookie under the primary, so opens
// under an old key fall to zero as clients come back.
//
// # Reloads
//
// A key set that fails to read, parse or validate never replaces the
// keyring in force: the Reloader reports the error and keeps the old one.
// A valid set that ends sessions (a key removed while in use, a primary
// promoted early, a new epoch period) is applied, since the file is the
// operator's word and may be an emergency, and reported in
// Change.Warnings and to OnError. So is a new lifetime policy
// ([ErrLifetimeChange]): the guards use it at once, while session managers
// keep the values they were built with until they restart.
//
// Nothing here starts a goroutine except [Reloader.Run], which the caller
// starts.
package rotate
