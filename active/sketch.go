package active

import (
	"math"
	"math/bits"
)

// Precision is the sketch's precision p: 2^p registers. 14 gives a
// relative standard error of 1.04/√16384 ≈ 0.81%, as Redis's PFCOUNT.
const Precision = 14

const (
	registers = 1 << Precision
	q         = 64 - Precision // bits left for the rank
)

// StdError is the sketch's relative standard error, 1.04/√(2^Precision).
var StdError = 1.04 / math.Sqrt(registers)

// Sketch is a HyperLogLog (Flajolet et al. 2007) of 2^Precision one-byte
// registers (16 KiB), estimating the number of distinct strings added,
// with Ertl's improved estimator ("New cardinality estimation algorithms
// for HyperLogLog sketches", 2017, the one Redis uses): no bias tables,
// accurate from 0 to billions. The zero value is an empty sketch. It is
// not safe for concurrent use; Counter adds the locking.
type Sketch struct {
	reg [registers]uint8
}

// Add adds s.
func (k *Sketch) Add(s string) { k.AddHash(Hash(s)) }

// AddHash adds an item by its 64-bit hash (see Hash).
func (k *Sketch) AddHash(h uint64) {
	i := h >> q                            // the top Precision bits pick the register
	w := h<<Precision | 1<<(Precision-1)   // the rest, with a stop bit so rank ≤ q+1
	r := uint8(bits.LeadingZeros64(w)) + 1 // position of the first 1
	if r > k.reg[i] {
		k.reg[i] = r
	}
}

// Merge makes k the sketch of the union of k's items and o's.
func (k *Sketch) Merge(o *Sketch) {
	for i, r := range o.reg {
		if r > k.reg[i] {
			k.reg[i] = r
		}
	}
}

// Reset empties k.
func (k *Sketch) Reset() { clear(k.reg[:]) }

// Estimate returns the estimated number of distinct items added.
func (k *Sketch) Estimate() float64 {
	var c [q + 2]int
	for _, r := range k.reg {
		c[r]++
	}
	m := float64(registers)
	z := m * tau(1-float64(c[q+1])/m)
	for r := q; r >= 1; r-- {
		z = 0.5 * (z + float64(c[r]))
	}
	z += m * sigma(float64(c[0])/m)
	return m * m / (2 * math.Ln2 * z)
}

// sigma is Ertl's σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1).
func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

// tau is Ertl's τ(x) = (1/3)(1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k).
func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

// Hash is the 64-bit hash the sketch uses: FNV-1a over s, then the
// MurmurHash3 finalizer (fmix64) so that every output bit depends on
// every input bit. Deterministic across processes, so sketches of
// several instances merge.
func Hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
