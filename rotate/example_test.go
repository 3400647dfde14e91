package rotate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
	"github.com/cookieseal/cookieseal/rotate"
)

// A full rotation on one key set, with the guards in the way of steps
// taken too soon.
func Example() {
	day0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first, err := keyring.GenerateKey(keyring.StatusPrimary, day0)
	if err != nil {
		panic(err)
	}
	set := keyring.Set{Keys: []keyring.Key{first}}
	old := first.ID
	// The lifetime policy, recorded in the key set (cookieseal keygen
	// does this); the guards read it there, so the Policy leaves it out.
	set.Lifetime = keyring.Lifetime{RolloutDelay: time.Hour, AbsoluteTimeout: 7 * 24 * time.Hour}
	var p rotate.Policy

	// 1. Add a key: decrypt-only while every instance loads it.
	set, k, err := rotate.Add(set, day0.Add(24*time.Hour))
	if err != nil {
		panic(err)
	}
	// 2. Promote it once the roll-out delay has passed.
	_, err = rotate.Promote(set, k.ID, day0.Add(24*time.Hour+time.Minute), p)
	fmt.Println(errors.Is(err, rotate.ErrTooSoon))
	set, err = rotate.Promote(set, k.ID, day0.Add(25*time.Hour+time.Minute), p)
	if err != nil {
		panic(err)
	}
	// 3. The old primary was demoted; remove it once its cookies expired.
	_, err = rotate.Remove(set, old, day0.Add(3*24*time.Hour), p)
	fmt.Println(errors.Is(err, rotate.ErrInUse))
	set, err = rotate.Remove(set, old, day0.Add(9*24*time.Hour), p)
	if err != nil {
		panic(err)
	}
	kr, err := keyring.New(set)
	fmt.Println(kr.Primary().ID == k.ID, len(kr.Keys()), err)
	// Output:
	// true
	// true
	// true 1 <nil>
}

// A Holder behind a codec, reloaded from a key set file.
func ExampleReloader() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rotate-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "keys.json")
	// A key added three hours ago: rolled out, past the roll-out delay.
	k, err := keyring.GenerateKey(keyring.StatusPrimary, time.Now().Add(-3*time.Hour))
	if err != nil {
		panic(err)
	}
	if err := rotate.CreateKeyFile(path, keyring.Set{Keys: []keyring.Key{k}}); err != nil {
		panic(err)
	}

	src := rotate.NewFileSource(path)
	h, err := rotate.LoadHolder(ctx, src)
	if err != nil {
		panic(err)
	}
	r, err := rotate.NewReloader(h, src, rotate.ReloaderOptions{
		OnError:  func(err error) { fmt.Println("reload failed:", errors.Is(err, keyring.ErrInvalidKeySet)) },
		OnChange: func(c rotate.Change) { fmt.Println("added:", len(c.Added), "new primary:", c.Primary != 0) },
	})
	if err != nil {
		panic(err)
	}
	// In a server: go r.Run(ctx)
	codec, err := cookie.New(h, "session", cookie.Options{})
	if err != nil {
		panic(err)
	}
	v, err := codec.Seal([]byte("hello"), time.Time{})
	if err != nil {
		panic(err)
	}

	// The operator adds a key (here as if two hours ago), every instance
	// loads it, and the operator promotes it.
	var added keyring.Key
	err = rotate.UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		s, added, err = rotate.Add(s, time.Now().Add(-2*time.Hour))
		return s, err
	})
	if err != nil {
		panic(err)
	}
	if err := r.Reload(ctx); err != nil {
		panic(err)
	}
	err = rotate.UpdateKeyFile(path, func(s keyring.Set) (keyring.Set, error) {
		return rotate.Promote(s, added.ID, time.Now(), rotate.Policy{})
	})
	if err != nil {
		panic(err)
	}
	if err := r.Reload(ctx); err != nil {
		panic(err)
	}
	// A bad file is reported and changes nothing.
	if err := os.WriteFile(path, []byte("{oops"), 0o600); err != nil {
		panic(err)
	}
	_ = r.Reload(ctx)

	payload, _, err := codec.Open(v) // sealed under the old primary
	fmt.Println(string(payload), err)
	// Output:
	// added: 1 new primary: false
	// added: 0 new primary: true
	// reload failed: true
	// hello <nil>
}

func ExampleUsage() {
	u, err := rotate.NewUsage(rotate.UsageOptions{})
	if err != nil {
		panic(err)
	}
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	codec, err := cookie.New(kr, "session", cookie.Options{Usage: u})
	if err != nil {
		panic(err)
	}
	v, _ := codec.Seal([]byte("x"), time.Time{})
	codec.Open(v)
	codec.Open(v)
	for _, c := range u.ByKey() {
		fmt.Println(c.KeyID == kr.Primary().ID, c.Seals, c.Opens)
	}
	// Output: true 1 2
}

func ExampleEnvSource() {
	kr, err := keyring.Generate()
	if err != nil {
		panic(err)
	}
	env, err := kr.Set().MarshalString()
	if err != nil {
		panic(err)
	}
	src := rotate.EnvSource{Name: "COOKIESEAL_KEYS", Lookup: func(string) (string, bool) { return env, true }}
	h, err := rotate.LoadHolder(context.Background(), src)
	fmt.Println(h.Keyring().Primary().ID == kr.Primary().ID, err)
	// Output: true <nil>
}
