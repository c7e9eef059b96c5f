package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every count validate's text output shows (nodes in the payload, accepted,
// drained, gcd, rejected, notes, the rows of each table and the rows not
// shown, the summary line) is checked against the data it summarises: the
// --json output of the same run.

var (
	valHeaderRe   = regexp.MustCompile(`: format \S+ \([^)]*\), policy \S+, (\d+) nodes?$`)
	valAcceptedRe = regexp.MustCompile(`^accepted: (\d+) nodes?(?: \((\d+) drained\))?(?:, gcd (\d+))?$`)
	valRejectedRe = regexp.MustCompile(`^rejected: (\d+) nodes?`)
	valNotesRe    = regexp.MustCompile(`^notes: (\d+)$`)
	valMoreRe     = regexp.MustCompile(`^  \.\.\. (\d+) more [a-z ]+ not shown`)
	valAppliedRe  = regexp.MustCompile(`^applied without the (\d+) rejected nodes?$`)
	valRejRowRe   = regexp.MustCompile(`^  (\d+)\s+("(?:[^"\\]|\\.)*"|\S+)\s+(\S+)\s`)
)

func checkValidateTextCounts(t *testing.T, args ...string) {
	t.Helper()
	jcode, jout, _ := runCLI(t, append([]string{"validate", "--json"}, args...)...)
	code, text, _ := runCLI(t, append([]string{"validate"}, args...)...)
	require.Equal(t, jcode, code, "text and --json exit codes differ for %v", args)
	var j validateOut
	var notes struct {
		Notes []json.RawMessage `json:"notes"`
	}
	require.NoError(t, json.Unmarshal([]byte(jout), &j), jout)
	require.NoError(t, json.Unmarshal([]byte(jout), &notes), jout)
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("validate %v: %s\n%s", args, fmt.Sprintf(format, a...), text)
	}
	if j.Error != nil {
		if !strings.Contains(text, "not a readable snapshot") {
			fail("--json says %q; the text does not say the payload is unreadable", *j.Error)
		}
		return
	}
	atoi := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil {
			fail("%q is not a count", s)
		}
		return n
	}
	drained := 0
	for _, a := range j.Accepted {
		if a.Weight == 0 {
			drained++
		}
	}
	// Every node is accepted or rejected, unless the snapshot was refused
	// whole (then no node is accepted).
	if n := len(j.Accepted) + len(j.Rejected); n != j.Entries && (j.Refused == nil || n > j.Entries) {
		fail("--json: %d accepted + %d rejected is not the payload's %d nodes", len(j.Accepted), len(j.Rejected), j.Entries)
	}

	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	section, rows, seen := "", 0, map[string]bool{}
	// closeSection checks the rows of the table that just ended.
	closeSection := func(more int) {
		want := map[string]int{"accepted": len(j.Accepted), "rejected": len(j.Rejected), "notes": len(notes.Notes)}[section]
		if section != "" && rows+more != want {
			fail("the %s table shows %d rows and says %d more, want %d", section, rows, more, want)
		}
		section, rows = "", 0
	}
	for _, l := range lines {
		switch m := []string(nil); {
		case valHeaderRe.MatchString(l):
			m = valHeaderRe.FindStringSubmatch(l)
			seen["header"] = true
			if atoi(m[1]) != j.Entries {
				fail("header says %s nodes, the payload has %d", m[1], j.Entries)
			}
		case valAcceptedRe.MatchString(l):
			m = valAcceptedRe.FindStringSubmatch(l)
			closeSection(0)
			section = "accepted"
			if atoi(m[1]) != len(j.Accepted) || m[2] != "" && atoi(m[2]) != drained || m[2] == "" && drained != 0 {
				fail("%q, the data has %d accepted, %d drained", l, len(j.Accepted), drained)
			}
			if m[3] != "" && uint32(atoi(m[3])) != j.GCD {
				fail("%q, the data's gcd is %d", l, j.GCD)
			}
		case valRejectedRe.MatchString(l):
			m = valRejectedRe.FindStringSubmatch(l)
			closeSection(0)
			section = "rejected"
			if atoi(m[1]) != len(j.Rejected) {
				fail("%q, the data has %d rejected", l, len(j.Rejected))
			}
		case valNotesRe.MatchString(l):
			m = valNotesRe.FindStringSubmatch(l)
			closeSection(0)
			section = "notes"
			if atoi(m[1]) != len(notes.Notes) {
				fail("%q, the data has %d notes", l, len(notes.Notes))
			}
		case valMoreRe.MatchString(l):
			closeSection(atoi(valMoreRe.FindStringSubmatch(l)[1]))
		case l == "":
			closeSection(0)
		case valAppliedRe.MatchString(l):
			seen["applied"] = true
			if n := atoi(valAppliedRe.FindStringSubmatch(l)[1]); n != len(j.Rejected) {
				fail("%q, the data has %d rejected", l, len(j.Rejected))
			}
		case section == "rejected" && strings.HasPrefix(l, "  #"), section == "accepted" && strings.HasPrefix(l, "  ID"):
			// column headings
		case section != "":
			if section == "rejected" {
				m = valRejRowRe.FindStringSubmatch(l)
				if m == nil || rows >= len(j.Rejected) || atoi(m[1]) != j.Rejected[rows].Index || m[3] != j.Rejected[rows].Reason {
					fail("rejected row %q does not match the data's reject %d", l, rows)
				}
			}
			rows++
		}
	}
	closeSection(0)
	if !seen["header"] {
		fail("no header line")
	}
	if len(j.Rejected) > 0 && j.Refused == nil && !seen["applied"] {
		fail("%d nodes were rejected and the snapshot applied, but no line says so", len(j.Rejected))
	}
}

func TestValidateTextCountsMatchData(t *testing.T) {
	var files []string
	for p := range registryFixtures(t) {
		files = append(files, p)
	}
	files = append(files,
		writeFile(t, `{"a:1":10,"b:1":"0","c:1":0,"d:1":-1,"e:1":5}`),
		writeFile(t, `{}`),
		writeFile(t, `{"a":0,"b":0}`),
	)
	// Large payloads: more rows than a text table shows.
	rnd := rand.New(rand.NewPCG(11, 17))
	for _, n := range []int{validateMaxRows - 1, validateMaxRows + 37} {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			w := []string{"0", "3", "7", `"0"`, "-1", "2.5", "12"}[rnd.IntN(7)]
			fmt.Fprintf(&b, `"n%d":%s`, i, w)
		}
		b.WriteByte('}')
		files = append(files, writeFile(t, b.String()))
	}
	for _, f := range files {
		for _, extra := range [][]string{nil, {"--policy", "lenient"}, {"--merge-services"}, {"--allow-names"}} {
			args := append(append([]string{}, extra...), f)
			t.Run(strings.Join(args, " "), func(t *testing.T) { checkValidateTextCounts(t, args...) })
		}
	}
}
