package jsonscan

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
)

type custom struct{}

func (*custom) UnmarshalJSON([]byte) error { return nil }

type flat struct {
	A string
	B int64
}

type nested struct {
	F    flat
	List []map[string]any
}

type cyclic struct {
	Next *cyclic
	N    int
}

func TestHoldsInterface(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    reflect.Type
		want bool
	}{
		{"int64", reflect.TypeFor[int64](), false},
		{"flat struct", reflect.TypeFor[flat](), false},
		{"any", reflect.TypeFor[any](), true},
		{"map[string]any", reflect.TypeFor[map[string]any](), true},
		{"nested interface", reflect.TypeFor[nested](), true},
		{"slice of flat", reflect.TypeFor[[]flat](), false},
		{"custom unmarshaler", reflect.TypeFor[custom](), true},
		{"cyclic type without interface", reflect.TypeFor[cyclic](), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HoldsInterface(tc.t); got != tc.want {
				t.Fatalf("HoldsInterface(%v) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}

func TestDecodeKeepsInt64(t *testing.T) {
	big := int64(math.MaxInt64 - 1) // not representable as float64
	var v map[string]any
	if err := Decode([]byte(`{"n":`+strconv.FormatInt(big, 10)+`}`), &v, true); err != nil {
		t.Fatal(err)
	}
	n, ok := v["n"].(json.Number)
	if !ok {
		t.Fatalf("n is %T, want json.Number", v["n"])
	}
	if got, err := n.Int64(); err != nil || got != big {
		t.Fatalf("n = %v (%v), want %d", got, err, big)
	}
}

func TestDecodeAgreesWithUnmarshal(t *testing.T) {
	for _, in := range []string{
		`{"a":1}`, ` {"a":1} `, "{\"a\":1}\n\t", `{"a":1} x`, `{"a":1}{"b":2}`, `{"a":1} ]`,
		`{"a":`, ``, `null`, `[1,2]`, `{"a":1} 2`,
	} {
		var want map[string]any
		wantErr := json.Unmarshal([]byte(in), &want) != nil
		for _, exact := range []bool{false, true} {
			var got map[string]any
			gotErr := Decode([]byte(in), &got, exact) != nil
			if gotErr != wantErr {
				t.Errorf("Decode(%q, exact=%v): error %v, json.Unmarshal's %v", in, exact, gotErr, wantErr)
			}
		}
	}
}
