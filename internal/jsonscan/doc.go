// Package jsonscan is the JSON that cookieseal reads and writes without
// encoding/json's reflection, in one place for the cookie codec and the
// session manager:
//
//   - the scanner primitives (SkipWS, SkipString, SkipValue, Trailing,
//     ParseInt), which check the structure of what they skip exactly as
//     encoding/json's validator does;
//   - object and array indexing without copying (Span, Field,
//     IndexObject, EachElement, Lookup, Unquote) and AppendString;
//   - the session envelope of package middleware (Envelope,
//     IndexEnvelope, EncodeEnvelope);
//   - the fast path of cookie.SealJSON and cookie.OpenJSON for flat
//     structs (Plan);
//   - the exact decoder (Decode, HoldsInterface): encoding/json with
//     numbers in interface values kept as json.Number.
//
// Every fast path here gives byte for byte what encoding/json gives, or
// reports that it cannot and leaves the input to encoding/json; the vector
// tests and the fuzz targets (module ./fuzz, and FuzzParseEnvelope in
// middleware) hold them to it. It is internal so that the fuzz targets
// can drive the Plan over struct types built at run time while users
// see none of it.
package jsonscan
