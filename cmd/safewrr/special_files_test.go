//go:build unix

package main

import (
	"strings"
	"testing"

	"github.com/safewrr/safewrr/internal/regfile/regfiletest"
)

// TestPayloadPathsNeverBlock: validate FILE and --nodes @FILE (simulate,
// diff) refuse a FIFO, a device, a directory or a link that leads nowhere
// at once, with a usage error that says what the path is.
func TestPayloadPathsNeverBlock(t *testing.T) {
	for _, c := range regfiletest.Specials(t) {
		t.Run(c.Name, func(t *testing.T) {
			want := c.Want
			if c.Name == "directory" {
				want = "is a directory" // validate's words since before
			}
			code, _, errb := runCLI(t, "validate", c.Path)
			if code != exitUsage || !strings.Contains(errb, want) {
				t.Errorf("validate %s: exit %d, stderr %q; want exit %d and %q", c.Path, code, errb, exitUsage, want)
			}
			for _, cmd := range [][]string{{"simulate", "--picks", "1"}, {"diff"}} {
				code, _, errb := runCLI(t, append(cmd, "--nodes", "@"+c.Path)...)
				if code != exitUsage || !strings.Contains(errb, c.Want) {
					t.Errorf("%s --nodes @%s: exit %d, stderr %q; want exit %d and %q", cmd[0], c.Path, code, errb, exitUsage, c.Want)
				}
			}
		})
	}
}
