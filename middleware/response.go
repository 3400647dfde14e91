package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
)

// commit decides what the response must carry and adds it to the headers.
// It runs once, before the first byte of the response. A failure to seal
// is returned for the ErrorHandler.
func (st *state) commit() error {
	if st.resp.committed {
		return nil
	}
	st.resp.committed = true
	if !st.loaded {
		return nil
	}
	h := st.w.ResponseWriter.Header()
	// The handler looked at the session, so the response may depend on
	// the Cookie header: shared caches must key on it.
	varyCookie(h)
	if st.opened.frozen {
		// The revocation check faulted: this response has no session and
		// never writes over, or clears, the user's cookie.
		return nil
	}
	// The commit's own lines come first in the budget; the lines that
	// clear what the request carried elsewhere (sweep) take what is left
	// and go before them.
	lines := len(h["Set-Cookie"]) // Set-Cookie lines before this commit's
	if err := st.commitOwn(h, lines); err != nil {
		return err
	}
	st.sweep(h, lines)
	return nil
}

// commitOwn adds the commit's own lines after the first lines of h: the
// session's write, refresh or clear at the configured Domain and Path.
func (st *state) commitOwn(h http.Header, lines int) error {
	m := st.m
	switch {
	case st.edit.dirty:
		st.ensure()
		for {
			payload := st.edit.life.appendTo(jsonscan.EncodeEnvelope(st.scratch.enc[:0], st.edit.id, st.edit.sub, st.edit.data, st.edit.flashes))
			st.scratch.enc = payload
			err := st.write(h, payload, st.edit.issuedAt)
			if err == nil {
				err = m.fitsResponse(h, lines)
			}
			if err != nil && errors.Is(err, cookie.ErrTooLarge) && st.carriedBeyondReach() {
				// Drop the clears of carried chunk names no write reaches
				// (fitsResponse removed every line of this commit, or
				// write added none), and write again: lines a stranger
				// can cause never cost the session its write.
				h["Set-Cookie"] = h["Set-Cookie"][:lines]
				st.carried.seen &= 1<<m.reach - 1
				continue
			}
			if err == nil || len(st.edit.flashes) == 0 || !errors.Is(err, cookie.ErrTooLarge) {
				if err != nil && lines < len(h["Set-Cookie"]) {
					h["Set-Cookie"] = h["Set-Cookie"][:lines]
				}
				if err == nil {
					st.commitEvent(cookie.Meta{}, EventSaved)
				}
				return err
			}
			// Too large: drop the oldest flash and try again (MaxFlashes).
			st.edit.flashes = st.edit.flashes[1:]
		}
	case st.opened.valid:
		now := m.cfg.Now()
		kr := m.keys.Keyring()
		due := st.opened.reseal || now.Sub(st.opened.meta.RefreshedAt) >= m.cfg.RefreshAfter || m.outdated(st.opened.meta, kr, now)
		if due {
			// Only the timestamps (and perhaps the key or format) change: re-seal the
			// payload as it is, without decoding or encoding it, keeping
			// its issued-at (even one from an instance whose clock is
			// ahead: the codec then writes refreshed-at = issued-at).
			err := st.write(h, st.opened.payload, st.opened.meta.IssuedAt)
			for err == nil && st.carriedBeyondReach() {
				if err = m.fitsResponse(h, lines); err == nil || !errors.Is(err, cookie.ErrTooLarge) {
					break
				}
				// The session first: write it without the clears of
				// carried names no write reaches.
				h["Set-Cookie"] = h["Set-Cookie"][:lines]
				st.carried.seen &= 1<<m.reach - 1
				err = st.write(h, st.opened.payload, st.opened.meta.IssuedAt)
			}
			if err != nil {
				if lines < len(h["Set-Cookie"]) {
					h["Set-Cookie"] = h["Set-Cookie"][:lines]
				}
				return err
			}
			kind := EventRefreshed
			if m.outdated(st.opened.meta, kr, now) {
				kind = EventResealed
			}
			st.commitEvent(st.opened.meta, kind)
		}
	case st.edit.clear && !st.keepsOwn():
		st.addClear(h)
	}
	return nil
}

// commitEvent is the event of what commit wrote, if anything: told once
// the response's cookies passed the budget.
func (st *state) commitEvent(old cookie.Meta, kind EventKind) {
	if st.m.observing() {
		st.resp.committedEv = Event{Kind: kind, KeyID: old.KeyID, Epoch: old.Epoch}
	}
}

// write seals payload and sets the cookie (or its chunks), clearing
// whatever session cookies it does not overwrite: those the request
// carried, and, with chunking, every other name of the session's cookies
// (the plain one, or chunk indices from the count written to
// MaxChunks-1), so that no stale chunk from a response in flight at the
// same time survives.
//
// A value goes in the plain cookie when it is at most MaxValueSize bytes
// and its whole Set-Cookie line at most 4096; otherwise it is chunked in
// pieces of at most MaxValueSize bytes whose lines also fit in 4096, or,
// without chunking, refused with cookie.ErrTooLarge. Nothing is added to
// h on error.
func (st *state) write(h http.Header, payload []byte, issuedAt time.Time) error {
	m := st.m
	sealed, err := m.codec.AppendSeal(st.scratch.sealed[:0], payload, issuedAt)
	if err != nil {
		return fmt.Errorf("middleware: saving session: %w", err)
	}
	st.scratch.sealed = sealed
	now := m.now()
	// The codec writes refreshed-at = max(now, issued-at): an issued-at
	// from an instance whose clock is ahead never makes the pair refused.
	iat := time.UnixMilli(issuedAt.UnixMilli())
	deadline := st.edit.life.capDeadline(m.codec.Deadline(cookie.Meta{IssuedAt: iat, RefreshedAt: laterOf(now, iat)}))
	maxAge := st.maxAge(now, deadline)
	// The sealed value goes straight from the pooled buffer into each
	// Set-Cookie line: no copy of it as a string first.
	if line := st.lineLen(len(m.name), len(sealed), maxAge); len(sealed) <= m.cfg.MaxValueSize && line <= maxCookieLine {
		m.setCookie(h, m.name, sealed, now, maxAge)
		m.clearUnused(h, st.carried.seen, 0)
		noStoreCookie(h)
		return nil
	} else if m.cfg.MaxChunks == 1 {
		return fmt.Errorf("middleware: saving session: %w: %d-byte value, %d-byte Set-Cookie line (at most %d-byte value, %d-byte line)",
			cookie.ErrTooLarge, len(sealed), line, m.cfg.MaxValueSize, maxCookieLine)
	}
	// Chunks, cut as cookie.Split cuts: every chunk gets the room of the
	// longest chunk name's line.
	size := min(m.cfg.MaxValueSize, maxCookieLine-st.lineLen(len(m.chunkNames[len(m.chunkNames)-1]), 0, maxAge))
	if size < 1 {
		// New refuses attributes that leave a chunk no room (fitsLine).
		return fmt.Errorf("middleware: saving session: %w: no room for a chunk in a %d-byte Set-Cookie line", cookie.ErrTooLarge, maxCookieLine)
	}
	n := (len(sealed) + size - 1) / size
	if n > m.cfg.MaxChunks {
		return fmt.Errorf("middleware: saving session: %w: %d bytes need %d chunks of %d, at most %d allowed", cookie.ErrTooLarge, len(sealed), n, size, m.cfg.MaxChunks)
	}
	for i := range n {
		m.setCookie(h, m.chunkNames[i], sealed[i*size:min((i+1)*size, len(sealed))], now, maxAge)
	}
	addSetCookie(h, m.clearPlain)
	m.clearUnused(h, st.carried.seen, n)
	noStoreCookie(h)
	return nil
}

// laterOf returns the later of a and b.
func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (st *state) status() SaveStatus {
	m := st.m
	switch {
	case st.opened.frozen:
		return Unmodified
	case st.edit.dirty:
		return Modified
	case st.opened.valid:
		now := m.cfg.Now()
		kr := m.keys.Keyring()
		if st.opened.reseal || now.Sub(st.opened.meta.RefreshedAt) >= m.cfg.RefreshAfter || m.outdated(st.opened.meta, kr, now) {
			return Refreshed
		}
	case st.edit.clear && st.edit.destroyed && m.cfg.MaxChunks > 1, st.edit.clear && !st.keepsOwn() && len(st.present()) > 0:
		return Cleared
	}
	return Unmodified
}
