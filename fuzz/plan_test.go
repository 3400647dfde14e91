package fuzz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cookieseal/cookieseal/cookie"
	"github.com/cookieseal/cookieseal/internal/jsonscan"
)

// planKinds are the field types the generator draws from: every kind the
// JSON fast path takes, and neighbours it must refuse or handle exactly as
// encoding/json does.
var planKinds = []reflect.Type{
	reflect.TypeFor[string](), reflect.TypeFor[bool](),
	reflect.TypeFor[int](), reflect.TypeFor[int8](), reflect.TypeFor[int16](), reflect.TypeFor[int32](), reflect.TypeFor[int64](),
	reflect.TypeFor[uint](), reflect.TypeFor[uint8](), reflect.TypeFor[uint16](), reflect.TypeFor[uint32](), reflect.TypeFor[uint64](), reflect.TypeFor[uintptr](),
	reflect.TypeFor[json.Number](), reflect.TypeFor[named](),
	reflect.TypeFor[float64](), reflect.TypeFor[float32](),
	reflect.TypeFor[*string](), reflect.TypeFor[*int](), reflect.TypeFor[*json.Number](),
	reflect.TypeFor[time.Time](), reflect.TypeFor[any](),
}

// planTags are the struct tags the generator draws from; %d is the
// field's index, so names are distinct unless a tag says otherwise.
var planTags = []string{
	``, `json:"f%d"`, `json:"f%d,omitempty"`, `json:",omitempty"`, `json:"f%d,string"`, `json:",string"`,
	`json:"f%d,omitempty,string"`, `json:"-"`, `json:"-,"`, `json:"f%d,omitzero"`, `json:"f0"`, `json:"F0"`,
	`json:"a<b"`, `json:"é%d"`, `json:"f%d,unknown"`, `json:"x.y-%d"`,
}

// planStrings are the string values the generator draws from: plain ones
// and every class of byte encoding/json escapes or replaces.
var planStrings = []string{"", "a", "admin", "Zoë", "<&>", `"q"`, `\`, "\x00\x1f", "\xff", "a\u2028b", "\u2029", "42", "-1.5e3", "abc", "true", "null"}

// genStruct builds a struct type from the first bytes of data and a
// value of it from the rest. It reports false when data is too short.
func genStruct(data []byte) (reflect.Type, reflect.Value, bool) {
	if len(data) == 0 {
		return nil, reflect.Value{}, false
	}
	n := int(data[0])%12 + 1
	data = data[1:]
	if len(data) < 2*n {
		return nil, reflect.Value{}, false
	}
	fields := make([]reflect.StructField, n)
	for i := range fields {
		tag := planTags[int(data[2*i+1])%len(planTags)]
		if bytes.Contains([]byte(tag), []byte("%d")) {
			tag = fmt.Sprintf(tag, i)
		}
		fields[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: planKinds[int(data[2*i])%len(planKinds)], Tag: reflect.StructTag(tag)}
	}
	data = data[2*n:]
	t := reflect.StructOf(fields)
	v := reflect.New(t).Elem()
	next := func() uint64 {
		var b [8]byte
		k := copy(b[:], data)
		data = data[k:]
		var x uint64
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
		return x
	}
	for i := range n {
		f := v.Field(i)
		x := next()
		switch f.Kind() {
		case reflect.String:
			f.SetString(planStrings[x%uint64(len(planStrings))])
		case reflect.Bool:
			f.SetBool(x&1 == 1)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(int64(x) >> (x % 64)) // small and large magnitudes, both signs
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			f.SetUint(x >> (x % 64))
		case reflect.Float32, reflect.Float64:
			f.SetFloat(float64(int64(x)) / 1024)
		case reflect.Pointer:
			if x&1 == 1 {
				p := reflect.New(f.Type().Elem())
				if p.Elem().Kind() == reflect.String {
					p.Elem().SetString(planStrings[(x>>1)%uint64(len(planStrings))])
				} else {
					p.Elem().SetInt(int64(x >> 1))
				}
				f.Set(p)
			}
		}
	}
	return t, v, true
}

// planSeeds are type descriptions for the seed corpus: each is a field
// count byte then (kind, tag) byte pairs, then value bytes.
func planSeeds() [][]byte {
	kind := func(t reflect.Type) byte {
		for i, k := range planKinds {
			if k == t {
				return byte(i)
			}
		}
		panic(t)
	}
	tag := func(s string) byte {
		for i, g := range planTags {
			if g == s {
				return byte(i)
			}
		}
		panic(s)
	}
	values := bytes.Repeat([]byte{0x5a, 0x01, 0xff, 0x00, 0x33, 0x80, 0x07, 0x42}, 12)
	seed := func(pairs ...byte) []byte {
		return append(append([]byte{byte(len(pairs)/2 - 1)}, pairs...), values...)
	}
	return [][]byte{
		// The session shape: fast path.
		seed(kind(reflect.TypeFor[int64]()), tag(`json:"f%d"`), kind(reflect.TypeFor[string]()), tag(`json:"f%d"`),
			kind(reflect.TypeFor[string]()), tag(`json:"f%d,omitempty"`), kind(reflect.TypeFor[bool]()), tag(``)),
		// Every integer kind: fast path.
		seed(kind(reflect.TypeFor[int8]()), tag(``), kind(reflect.TypeFor[int16]()), tag(``), kind(reflect.TypeFor[int32]()), tag(``),
			kind(reflect.TypeFor[uint8]()), tag(``), kind(reflect.TypeFor[uint16]()), tag(``), kind(reflect.TypeFor[uint32]()), tag(``),
			kind(reflect.TypeFor[uint64]()), tag(``), kind(reflect.TypeFor[uintptr]()), tag(``), kind(reflect.TypeFor[int]()), tag(``)),
		// json.Number, both ways (issue 9 §8).
		seed(kind(reflect.TypeFor[json.Number]()), tag(`json:"f%d"`), kind(reflect.TypeFor[string]()), tag(``)),
		// A named string type: fast path, a string to encoding/json.
		seed(kind(reflect.TypeFor[named]()), tag(`json:"f%d"`)),
		// Options the fast path refuses.
		seed(kind(reflect.TypeFor[int]()), tag(`json:"f%d,string"`), kind(reflect.TypeFor[string]()), tag(`json:"-"`)),
		seed(kind(reflect.TypeFor[string]()), tag(`json:"-,"`), kind(reflect.TypeFor[bool]()), tag(`json:"f%d,omitzero"`)),
		// Conflicting and case-folded names.
		seed(kind(reflect.TypeFor[string]()), tag(`json:"f0"`), kind(reflect.TypeFor[int]()), tag(`json:"f0"`), kind(reflect.TypeFor[bool]()), tag(`json:"F0"`)),
		// Pointers, floats, interfaces, time.
		seed(kind(reflect.TypeFor[*string]()), tag(``), kind(reflect.TypeFor[float64]()), tag(``), kind(reflect.TypeFor[any]()), tag(``), kind(reflect.TypeFor[time.Time]()), tag(``)),
	}
}

// FuzzJSONPlanGenerated drives the JSON fast path of SealJSON and
// OpenJSON over struct types built from the input (reflect.StructOf: field
// kinds string, bool, every integer, json.Number, a named string, floats,
// pointers, interfaces, time.Time; tags with and without names,
// omitempty, ",string", "-", "-,", omitzero, conflicting and case-folded
// names). With SealJSON's and OpenJSON's fallback rule (use the plan when
// it reports success, encoding/json otherwise) the result must equal
// encoding/json's: the bytes json.Marshal writes, and for any payload
// (the fuzzed one and the marshalled value) what json.Unmarshal decodes,
// with an error exactly when it errs.
func FuzzJSONPlanGenerated(f *testing.F) {
	c := codec(f)
	payloads := vectorPayloads(f)
	seeds := planSeeds()
	var withPlan, withoutPlan, fastDecodes int
	for i, s := range seeds {
		t, v, ok := genStruct(s)
		if !ok {
			f.Fatalf("seed %d does not build a struct", i)
		}
		pl := jsonscan.New(t)
		if pl == nil {
			withoutPlan++
		} else {
			withPlan++
			js, err := json.Marshal(v.Interface())
			if err == nil && pl.Decode(js, reflect.New(t).UnsafePointer()) {
				fastDecodes++
			}
		}
		for _, p := range payloads {
			f.Add(s, []byte(p))
		}
		f.Add(s, []byte(`{"f0":1,"F1":"x","f2":"42","F0":true}`))
	}
	if withPlan == 0 || withoutPlan == 0 || fastDecodes == 0 {
		f.Fatalf("seeds: %d types with a fast path, %d without, %d fast decodes; want some of each", withPlan, withoutPlan, fastDecodes)
	}
	f.Fuzz(func(t *testing.T, typeData, payload []byte) {
		typ, v, ok := genStruct(typeData)
		if !ok {
			return
		}
		pl := jsonscan.New(typ)
		want, wantErr := json.Marshal(v.Interface())
		if pl != nil {
			// SealJSON's rule: the plan's bytes when it reports success.
			ptr := reflect.New(typ)
			ptr.Elem().Set(v)
			got, ok := pl.AppendJSON(nil, ptr.UnsafePointer())
			if ok && (wantErr != nil || !bytes.Equal(got, want)) {
				t.Fatalf("%v: fast path wrote %s; json.Marshal: %s, %v", typ, got, want, wantErr)
			}
		}
		for _, p := range [][]byte{payload, want} {
			if p == nil {
				continue
			}
			ref := reflect.New(typ)
			refErr := json.Unmarshal(p, ref.Interface())
			if pl == nil {
				continue
			}
			// OpenJSON's rule: the plan's result when it reports success.
			fast := reflect.New(typ)
			if pl.Decode(p, fast.UnsafePointer()) {
				if refErr != nil {
					t.Fatalf("%v: fast path decoded %q, which json.Unmarshal refuses: %v", typ, p, refErr)
				}
				if !reflect.DeepEqual(fast.Elem().Interface(), ref.Elem().Interface()) {
					t.Fatalf("%v: fast path decoded %q to\n %+v\njson.Unmarshal to\n %+v", typ, p, fast.Elem().Interface(), ref.Elem().Interface())
				}
			}
		}
		// The codec around it: a sealed payload opens to the same bytes.
		if wantErr == nil {
			if sealed, err := c.Seal(want, time.Time{}); err == nil {
				if got, _, err := c.Open(sealed); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("round trip of %s: %s, %v", want, got, err)
				}
			}
		}
	})
}

// The static shapes: SealJSON and OpenJSON themselves (not only the plan)
// agree with encoding/json on json.Number fields, both ways.
type numberShape struct {
	N  json.Number `json:"n"`
	O  json.Number `json:"o,omitempty"`
	ID int64       `json:"id"`
	S  string      `json:"s"`
}

// FuzzJSONNumberDifferential: SealJSON and OpenJSON on a struct with
// json.Number fields give exactly encoding/json's bytes, values and
// error-ness.
func FuzzJSONNumberDifferential(f *testing.F) {
	c := codec(f)
	n := 0
	for _, p := range vectorPayloads(f) {
		f.Add("42", p)
		n++
	}
	for _, s := range []string{"42", "abc", "-1.5e3", "", "0x1", "1e400"} {
		f.Add(s, `{"n":`+s+`,"o":"7","id":1}`)
		f.Add(s, `{"n":"`+s+`"}`)
		n += 2
	}
	if n == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, num, payload string) {
		v := numberShape{N: json.Number(num), O: json.Number(num), ID: int64(len(num)), S: num}
		want, wantErr := json.Marshal(v)
		sealed, err := cookie.SealJSON(c, v, time.Time{})
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("SealJSON error %v, json.Marshal error %v", err, wantErr)
		}
		if err == nil {
			if p, _, err := c.Open(sealed); err != nil || !bytes.Equal(p, want) {
				t.Fatalf("SealJSON wrote %s, %v; json.Marshal writes %s", p, err, want)
			}
		}
		sealed, err = c.Seal([]byte(payload), time.Time{})
		if err != nil {
			return // too large
		}
		var ref numberShape
		refErr := json.Unmarshal([]byte(payload), &ref)
		got, _, err := cookie.OpenJSON[numberShape](c, sealed)
		if (err != nil) != (refErr != nil) || err == nil && got != ref {
			t.Fatalf("OpenJSON(%q) = %+v, %v; json.Unmarshal = %+v, %v", payload, got, err, ref, refErr)
		}
	})
}
