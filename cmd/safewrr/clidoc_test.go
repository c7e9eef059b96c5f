package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestCLIDocNamesEveryFlag: docs/cli.md, the command-line reference, names
// every flag that some command's -h lists, so a flag added to a command
// cannot go undocumented there.
func TestCLIDocNamesEveryFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		var stdout, stderr bytes.Buffer
		if code := commands[name].run([]string{"-h"}, &stdout, &stderr); code != exitOK {
			t.Fatalf("safewrr %s -h: exit %d\n%s", name, code, stderr.String())
		}
		flags := flagLine.FindAllStringSubmatch(stdout.String(), -1)
		if len(flags) == 0 && name != "version" {
			t.Errorf("safewrr %s -h lists no flags:\n%s", name, stdout.String())
		}
		for _, f := range flags {
			if !strings.Contains(string(doc), "`--"+f[1]) {
				t.Errorf("docs/cli.md does not name --%s of safewrr %s", f[1], name)
			}
		}
	}
}
