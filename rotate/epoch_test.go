package rotate

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/keyring"
)

const period = time.Hour

// epochStart returns the start of epoch e under period.
func epochStart(e uint32) time.Time { return time.Unix(int64(e)*int64(period/time.Second), 0).UTC() }

func epochCodec(t testing.TB, p keyring.Provider, now *time.Time) *cookie.Codec {
	t.Helper()
	c, err := cookie.New(p, "session", cookie.Options{
		IdleTimeout: 3 * time.Hour, AbsoluteTimeout: 3 * time.Hour, ClockSkew: 30 * time.Second,
		Now: func() time.Time { return *now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forge seals payload in the native v1 format with any header, as
// package cookie documents it, so a test can name an epoch that no clock
// in the test would choose.
func forge(t testing.TB, kr *keyring.Keyring, purpose string, epoch uint32, issued, refreshed time.Time) string {
	t.Helper()
	id := kr.Primary().ID
	aead, err := kr.AEAD(keyring.XChaCha20Poly1305, purpose, id, epoch)
	if err != nil {
		t.Fatal(err)
	}
	h := []byte{cookie.Version1}
	h = binary.BigEndian.AppendUint32(h, id)
	h = binary.BigEndian.AppendUint32(h, epoch)
	h = binary.BigEndian.AppendUint64(h, uint64(issued.UnixMilli()))
	h = binary.BigEndian.AppendUint64(h, uint64(refreshed.UnixMilli()))
	nonce := make([]byte, 24)
	rand.Read(nonce)
	h = append(h, nonce...)
	out := aead.Seal(h, nonce, []byte("{}"), append(h[:len(h):len(h)], purpose...))
	return base64.RawURLEncoding.EncodeToString(out)
}

func TestEpochBoundaries(t *testing.T) {
	set := lifecycleSet(t)
	set.EpochPeriod = period
	kr := mustKeyring(t, set)
	const e = 493000 // an epoch in 2026
	b := epochStart(e)
	skew := 30 * time.Second
	cases := []struct {
		name      string
		sealAt    time.Time
		openAt    time.Time
		wantEpoch uint32
		want      error // nil: opens
	}{
		{"last instant of the previous epoch", b.Add(-time.Millisecond), b.Add(-time.Millisecond), e - 1, nil},
		{"first instant of the epoch", b, b, e, nil},
		{"earlier epoch at the end of its lifetime", b, b.Add(3*time.Hour + skew), e, nil},
		{"earlier epoch just past its lifetime", b, b.Add(3*time.Hour + skew + time.Millisecond), e, cookie.ErrExpired},
		{"sealed one epoch later, by a clock within skew", b, b.Add(-skew), e, nil},
		{"sealed one epoch later, by a clock beyond skew", b, b.Add(-skew - time.Millisecond), e, cookie.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.sealAt
			codec := epochCodec(t, kr, &now)
			v, err := codec.Seal([]byte("{}"), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			now = c.openAt
			_, m, err := codec.Open(v)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("Open = %v, want %v", err, c.want)
				}
				return
			}
			if err != nil || m.Epoch != c.wantEpoch {
				t.Fatalf("Open = %+v, %v; want epoch %d", m, err, c.wantEpoch)
			}
		})
	}
}

// TestFutureEpochRefused isolates the epoch window from the timestamp
// checks: the forged values carry present timestamps and only their epoch
// lies ahead.
func TestFutureEpochRefused(t *testing.T) {
	set := lifecycleSet(t)
	set.EpochPeriod = period
	kr := mustKeyring(t, set)
	const e = 493000
	b := epochStart(e)
	skew := 30 * time.Second
	cases := []struct {
		name  string
		now   time.Time
		epoch uint32
		ok    bool
	}{
		{"next epoch, clock exactly skew before it", b.Add(-skew), e, true},
		{"next epoch, clock beyond skew before it", b.Add(-skew - time.Millisecond), e, false},
		{"two epochs ahead", b.Add(-skew), e + 1, false},
		{"current epoch", b, e, true},
		{"oldest epoch within the absolute timeout", b.Add(3*time.Hour + skew), e, true},
		// A value sealed in epoch e-1 (sealer's clock before b) can carry
		// an issued-at up to one skew later (written by a faster clock),
		// so epoch e-1 stays in the window until b + 3h + 2×skew.
		{"epoch older than any valid value", b.Add(3*time.Hour + 2*skew), e - 1, false},
		{"epoch 0 when epochs are on", b, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			codec := epochCodec(t, kr, &now)
			ts := now
			if c.name == "oldest epoch within the absolute timeout" {
				ts = b // issued at the epoch's start, still within 3h + skew
			}
			v := forge(t, kr, "session", c.epoch, ts, ts)
			_, m, err := codec.Open(v)
			if c.ok {
				if err != nil || m.Epoch != c.epoch {
					t.Fatalf("Open = %+v, %v", m, err)
				}
				return
			}
			if !errors.Is(err, cookie.ErrInvalid) || !strings.Contains(err.Error(), "epoch") {
				t.Fatalf("Open = %v, want ErrInvalid from the epoch window", err)
			}
		})
	}
}

// TestInstancesAgreeByClock: two instances, each with its own keyring
// loaded from the same set, with clocks a few seconds apart on either side
// of an epoch boundary, open each other's values.
func TestInstancesAgreeByClock(t *testing.T) {
	set := lifecycleSet(t)
	set.EpochPeriod = period
	b := epochStart(493000)
	nowA, nowB := b.Add(-10*time.Second), b.Add(10*time.Second)
	a := epochCodec(t, mustKeyring(t, set.Clone()), &nowA)
	bb := epochCodec(t, mustKeyring(t, set.Clone()), &nowB)
	for i := range 4 {
		from, to := a, bb
		if i%2 == 1 {
			from, to = bb, a
		}
		v, err := from.Seal([]byte("{}"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := to.Open(v); err != nil {
			t.Fatalf("instance %d's value refused by the other: %v", i%2, err)
		}
		nowA, nowB = nowA.Add(time.Second), nowB.Add(time.Second)
	}
}

// TestEpochPeriodChangeEndsSessions documents why a Reloader warns on a
// new epoch period: values sealed before it no longer open.
func TestEpochPeriodChangeEndsSessions(t *testing.T) {
	now := epochStart(493000)
	off := lifecycleSet(t)
	on := off.Clone()
	on.EpochPeriod = period
	h := NewHolder(mustKeyring(t, off))
	codec := epochCodec(t, h, &now)
	v, err := codec.Seal([]byte("{}"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	h.Store(mustKeyring(t, on))
	if _, _, err := codec.Open(v); !errors.Is(err, cookie.ErrInvalid) {
		t.Fatalf("Open after turning epochs on = %v, want ErrInvalid", err)
	}
}
