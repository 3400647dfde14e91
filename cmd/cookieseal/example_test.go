package main

import (
	"bytes"
	"os"
	"path/filepath"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

// keys list on a key set in the middle of a rotation, with the times its
// recorded lifetime policy gives.
func Example_keysList() {
	dir, err := os.MkdirTemp("", "cookieseal-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "keys.json")
	day0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	key := func(id uint32, st keyring.Status, added, promoted, demoted time.Time) keyring.Key {
		k, err := keyring.NewKey(id, st, bytes.Repeat([]byte{byte(id)}, keyring.SecretSize))
		if err != nil {
			panic(err)
		}
		k.Added, k.Promoted, k.Demoted = added, promoted, demoted
		return k
	}
	set := keyring.Set{Keys: []keyring.Key{
		key(11, keyring.StatusDecryptOnly, day0, day0, day0.Add(10*24*time.Hour)),
		key(22, keyring.StatusPrimary, day0.Add(9*24*time.Hour), day0.Add(10*24*time.Hour), time.Time{}),
		key(33, keyring.StatusDecryptOnly, day0.Add(20*24*time.Hour), time.Time{}, time.Time{}),
	}}
	// As keygen -rollout-delay 30m -absolute-timeout 240h records it.
	set.Lifetime = keyring.Lifetime{RolloutDelay: 30 * time.Minute, AbsoluteTimeout: 10 * 24 * time.Hour}
	if err := rotate.CreateKeyFile(file, set); err != nil {
		panic(err)
	}
	now := func() time.Time { return day0.Add(20*24*time.Hour + 30*time.Minute) }
	run([]string{"keys", "list", "-file", file}, nil, os.Stdout, os.Stderr, now)
	// Output:
	// ID  STATUS        ADDED                 PROMOTED              DEMOTED               NOTE
	// 11  decrypt-only  2026-11-01T00:00:00Z  2026-11-01T00:00:00Z  2026-11-11T00:00:00Z  draining; removable at 2026-11-21T00:30:31Z
	// 22  primary       2026-11-10T00:00:00Z  2026-11-11T00:00:00Z  -                     seals new cookies
	// 33  decrypt-only  2026-11-21T00:00:00Z  -                     -                     rolling out; promotable at 2026-11-21T00:30:01Z
	// epoch keys: off
	// lifetime: idle-timeout 24h0m0s (default), absolute-timeout 240h0m0s, clock-skew 30s (default), rollout-delay 30m0s
}
