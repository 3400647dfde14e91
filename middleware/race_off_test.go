//go:build !race

package middleware_test

const raceOn = false
