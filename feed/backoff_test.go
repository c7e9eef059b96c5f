package feed

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		interval, maxBackoff time.Duration
		jitter               float64
		failures             int
		r                    float64
		want                 time.Duration
	}{
		{time.Second, 30 * time.Second, 0, 0, 0.7, time.Second},
		{time.Second, 30 * time.Second, 0, 1, 0.7, 2 * time.Second},
		{time.Second, 30 * time.Second, 0, 4, 0.7, 16 * time.Second},
		{time.Second, 30 * time.Second, 0, 5, 0.7, 30 * time.Second},
		{time.Second, 30 * time.Second, 0, 1000, 0.7, 30 * time.Second},
		{time.Minute, 30 * time.Second, 0, 3, 0.7, time.Minute}, // never below the interval
		{time.Second, 30 * time.Second, 0.1, 0, 0, 900 * time.Millisecond},
		{time.Second, 30 * time.Second, 0.1, 0, 0.5, time.Second},
		{time.Second, 30 * time.Second, 0.1, 0, 0.75, 1050 * time.Millisecond},
		{time.Second, 30 * time.Second, 0.1, 2, 0.75, 4200 * time.Millisecond},
		{0, 30 * time.Second, 0.1, 2, 0.75, 0}, // only on Trigger
	} {
		got := backoff(c.interval, c.maxBackoff, c.jitter, c.failures, c.r)
		if got != c.want {
			t.Errorf("backoff(%v, %v, %v, %d, %v) = %v want %v", c.interval, c.maxBackoff, c.jitter, c.failures, c.r, got, c.want)
		}
	}
}
