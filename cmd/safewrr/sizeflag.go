package main

import (
	"fmt"
	"math"
	"strings"
)

// byteSize is a flag value of bytes with an optional KiB/MiB/GiB suffix.
type byteSize int64

func (b *byteSize) String() string { return fmt.Sprint(int64(*b)) }

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = t, u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("want a number of bytes such as 1048576 or 1MiB")
	}
	*b = byteSize(n * mult)
	return nil
}
