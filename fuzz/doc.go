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
// FuzzParseKeyFile reads key set files (keyring.ParseKeyFile, as
// rotate.FileSource and the cookieseal command do); FuzzKeySet reads the
// one-line form of an environment variable (keyring.ParseString).
//
// campaign.sh runs every fuzz target of the tree, these and those beside
// the code, for 10 million executions each (see docs/contributing.md,
// "The fuzz campaign"); CI runs each for 15 seconds.
//
// FuzzJSONPlanGenerated drives the JSON fast path of cookie.SealJSON and
// cookie.OpenJSON (internal/jsonscan's Plan) over struct types it builds with
// reflect.StructOf from the input, against encoding/json both ways;
// FuzzJSONNumberDifferential does the same through SealJSON and OpenJSON
// themselves for json.Number fields.
package fuzz
