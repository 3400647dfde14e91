//go:build race

package middleware_test

// raceOn: the race detector adds allocations of its own.
const raceOn = true
