package middleware

import (
	"bytes"
	"encoding/json"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
	"strings"
	"testing"
	"unicode/utf8"
)

var envelopeSeeds = []string{
	`{"id":"AAAAAAAAAAAAAAAAAAAAAA"}`,
	`{"id":"AAAAAAAAAAAAAAAAAAAAAA","sub":"user-42","d":{"user_id":123456,"role":"admin","x":[1,{"a":null}],"e":"\u00e9\n\"q\""},"f":["Saved.",{"k":true}]}`,
	` { "d" : { "a\"b" : -1.5e+3 } , "id" : "x\\y" , "future": {"z": [true, false]} } `,
	`{"id":"a","d":{}}`,
	`{"id":"a","d":{"a":1,"a":2}}`,
	`{"id":7}`,
	`{"id":"a","d":[]}`,
	`{"id":"a"}x`,
	`{"id":"a",}`,
	`{"id":"a","d":{"k":01}}`,
	`{"id":"a","d":{"k":"\x01"}}`,
	`[1,2]`,
	``,
	`{"id":"a","d":{"k":[[[[[[[[[[1]]]]]]]]]]}}`,
	`{"F":{},"id":"a"}`,             // encoding/json folds "F" onto "f"
	`{"\u0069d":"a"}`,               // an escaped "id"
	"{\"id\":\"a\",\"\u017fub\":1}", // "ſub" folds onto "sub"
}

type wireEnvelope struct {
	ID      string                     `json:"id"`
	Sub     string                     `json:"sub"`
	D       map[string]json.RawMessage `json:"d"`
	F       []json.RawMessage          `json:"f"`
	Unknown map[string]json.RawMessage `json:"-"`
}

// The hand-written scanner agrees with encoding/json: whatever it accepts
// is valid JSON whose members it located exactly, and what it finds
// re-encodes to an equivalent envelope.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseEnvelope(b, nil)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var w wireEnvelope
		if err := json.Unmarshal(b, &w); err != nil {
			// Duplicate top-level members, for instance, are refused by the
			// scanner; encoding/json may still refuse for type reasons the
			// scanner checked too. Anything else is a disagreement.
			t.Fatalf("scanner accepted, encoding/json refused %q: %v", b, err)
		}
		var id string
		if err := json.Unmarshal(b[e.ID.Start:e.ID.End], &id); err != nil || id != w.ID {
			t.Fatalf("id %q vs %q (%v)", b[e.ID.Start:e.ID.End], w.ID, err)
		}
		// Every data member is found, and holds what encoding/json saw
		// (for a repeated key, the last value). Keys with invalid UTF-8,
		// which encoding/json rewrites, are out of scope: this package
		// never writes them.
		for k, raw := range w.D {
			if !utf8.ValidString(k) || strings.ContainsRune(k, utf8.RuneError) {
				continue
			}
			got, ok := jsonscan.Lookup(b, e.Fields, k)
			if !ok || !bytes.Equal(compact(t, got), compact(t, raw)) {
				t.Fatalf("jsonscan.Lookup(%q) = %q, %v; want %q", k, got, ok, raw)
			}
		}
		// The session re-encodes to valid JSON that parses back the same.
		st := &state{opened: openedSession{valid: true, payload: b, env: e}}
		if err := st.materialize(); err != nil {
			t.Fatal(err)
		}
		out := jsonscan.EncodeEnvelope(nil, st.edit.id, st.edit.sub, st.edit.data, st.edit.flashes)
		if !json.Valid(out) {
			t.Fatalf("re-encoded %q as invalid %q", b, out)
		}
		e2, err := parseEnvelope(out, nil)
		if err != nil {
			t.Fatalf("re-encoded envelope %q refused: %v", out, err)
		}
		if len(e2.Fields) != len(st.edit.data) {
			t.Fatalf("%d fields after re-encoding, want %d", len(e2.Fields), len(st.edit.data))
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return buf.Bytes()
}

func TestEnvelopeSeedsLoaded(t *testing.T) {
	accepted := 0
	for _, s := range envelopeSeeds {
		if _, err := parseEnvelope([]byte(s), nil); err == nil {
			accepted++
		}
	}
	// The seeds cover both sides: some accepted, some refused.
	if accepted < 4 || accepted == len(envelopeSeeds) {
		t.Fatalf("%d of %d seeds accepted", accepted, len(envelopeSeeds))
	}
}
