package rotate

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/keyring"
)

// ErrTooSoon's message names the step the caller took: a demote says
// demote and names the key the caller gave and the successor it waits
// for, a promote says promote; neither says the other's verb, and
// neither shows a secret.
func TestErrTooSoonNamesTheStep(t *testing.T) {
	set := keyring.Set{Keys: []keyring.Key{
		testKey(t, 7, keyring.StatusPrimary, t0, t0, time.Time{}),
		testKey(t, 9, keyring.StatusDecryptOnly, t0, time.Time{}, time.Time{}),
	}}
	early := t0.Add(time.Minute)
	at := t0.Add(10*time.Minute + time.Second).Format(time.RFC3339)
	for _, c := range []struct {
		name     string
		step     func() (keyring.Set, error)
		want     []string
		notWants []string
	}{
		{"demote", func() (keyring.Set, error) { return Demote(set, 7, early, testPolicy) },
			[]string{"rotate: too soon to demote key 7: its successor, key 9, was added or enabled at " + t0.Format(time.RFC3339), "demote key 7 at " + at + " or later", "loaded key 9"},
			[]string{"promote"}},
		{"promote", func() (keyring.Set, error) { return Promote(set, 9, early, testPolicy) },
			[]string{"rotate: too soon to promote key 9: it was added or enabled at " + t0.Format(time.RFC3339), "promote it at " + at + " or later"},
			[]string{"demote"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.step()
			if !errors.Is(err, ErrTooSoon) {
				t.Fatalf("%s = %v, want ErrTooSoon", c.name, err)
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			for _, w := range c.notWants {
				if strings.Contains(msg, w) {
					t.Errorf("%q says %q", msg, w)
				}
			}
			for _, k := range set.Keys {
				secret := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(string(rune(k.ID)), keyring.SecretSize)))
				if strings.Contains(msg, secret) {
					t.Errorf("%q shows key %d's secret", msg, k.ID)
				}
			}
		})
	}
	// Without a recorded time the message still names the step.
	bare := set.Clone()
	bare.Keys[1].Added = time.Time{}
	if _, err := Promote(bare, 9, early, testPolicy); !errors.Is(err, ErrTooSoon) || !strings.Contains(err.Error(), "too soon to promote key 9: it has no recorded time") {
		t.Fatalf("promote without a recorded time = %v", err)
	}
}

// EnvSource on an unset or empty variable names the variable and the
// command that makes a key set.
func TestEnvSourceUnsetSaysHowToMakeKeys(t *testing.T) {
	for _, v := range []struct {
		value string
		set   bool
	}{{"", false}, {"", true}} {
		lookup := func(string) (string, bool) { return v.value, v.set }
		_, err := EnvSource{Name: "MY_KEYS", Lookup: lookup}.Load(context.Background())
		if !errors.Is(err, ErrSource) {
			t.Fatalf("Load = %v, want ErrSource", err)
		}
		for _, want := range []string{"MY_KEYS is not set or empty", "cookieseal keygen -out keys.json", "cookieseal keys export-env"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	}
}
