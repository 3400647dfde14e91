// Package fuzz holds cookieseal's fuzz targets. Run one with, e.g.,
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzOpen$' -fuzztime 30s
//
// Every target is seeded from the project's test data and fails if no
// seed loads, so a moved file cannot silently empty the corpus.
package fuzz
