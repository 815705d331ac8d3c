//go:build race

package storetest

// raceDetector is set when the suite runs under the race detector, which
// slows an embedded database's every statement by an order of magnitude.
const raceDetector = true
