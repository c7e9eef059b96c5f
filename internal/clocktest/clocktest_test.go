package clocktest

import (
	"testing"
	"time"
)

func TestAdvance(t *testing.T) {
	c := New()
	if got := c.Now(); !got.Equal(Start) {
		t.Fatalf("New().Now() = %v want %v", got, Start)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), Start.Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance(90s) Now() = %v want %v", got, want)
	}
}
