// Package fuzz holds cookieseal's fuzz targets. Run one with, e.g.,
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzOpen$' -fuzztime 30s
//
// Every target is seeded from the project's test data and fails if no
// seed loads, so a moved file cannot silently empty the corpus.
//
// The formats other than the native one have targets of their own:
// FuzzJWEOpen (cookie.Codec on JWE values, seeded from cookie/testdata/jwe),
// FuzzAuthjsOpen (cookie/authjs, seeded from its testdata),
// FuzzGorillaDecode (gorilla.Decoder on any value) and FuzzGorillaGob
// (gorilla.Decoder on authentic cookies holding any gob stream). Their
// seeds include multi-kilobyte values, whose minimization can stall the
// run for a minute: add -fuzzminimizetime 5s to keep fuzzing.
//
// FuzzJSONPlanGenerated drives the JSON fast path of cookie.SealJSON and
// cookie.OpenJSON (internal/jsonplan) over struct types it builds with
// reflect.StructOf from the input, against encoding/json both ways;
// FuzzJSONNumberDifferential does the same through SealJSON and OpenJSON
// themselves for json.Number fields.
package fuzz
