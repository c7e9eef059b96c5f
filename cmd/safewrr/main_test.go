package main

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsCommands(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != exitOK {
		t.Fatalf("safewrr --help exit %d want %d", code, exitOK)
	}
	for name := range commands {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("safewrr --help does not list %q:\n%s", name, out)
		}
	}
}

func TestNoArgsIsUsageError(t *testing.T) {
	if code, _, errOut := runCLI(t); code != exitUsage || !strings.Contains(errOut, "Usage") {
		t.Fatalf("safewrr with no args: exit %d, stderr %q; want exit %d and usage", code, errOut, exitUsage)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errOut := runCLI(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("safewrr frobnicate: exit %d, stderr %q", code, errOut)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name, c := range commands {
		code, out, _ := runCLI(t, name, "-h")
		if code != exitOK {
			t.Errorf("safewrr %s -h exit %d want %d", name, code, exitOK)
		}
		if !strings.Contains(out, "Example") || !strings.Contains(out, "safewrr "+name) {
			t.Errorf("safewrr %s -h lacks an example:\n%s", name, out)
		}
		if c.summary == "" {
			t.Errorf("command %s has no summary", name)
		}
	}
}

func TestHelpPrintedOnceToStdout(t *testing.T) {
	for name := range commands {
		code, out, errOut := runCLI(t, name, "-h")
		if code != exitOK || errOut != "" {
			t.Errorf("safewrr %s -h: exit %d, stderr %q; want exit 0 and nothing on stderr", name, code, errOut)
		}
		if n := strings.Count(out, "Usage:"); n != 1 {
			t.Errorf("safewrr %s -h printed the usage %d times", name, n)
		}
		// A "Flags:" heading once when the command has flags, never empty.
		if n := strings.Count(out, "Flags:"); n > 1 || strings.HasSuffix(strings.TrimSpace(out), "Flags:") {
			t.Errorf("safewrr %s -h printed the flags heading %d times, or with no flag under it:\n%s", name, n, out)
		}
	}
}

func TestBadFlagIsUsageError(t *testing.T) {
	for name := range commands {
		code, out, errOut := runCLI(t, name, "--no-such-flag")
		if code != exitUsage {
			t.Errorf("safewrr %s --no-such-flag: exit %d want %d", name, code, exitUsage)
		}
		want := "safewrr " + name + ": flag provided but not defined: -no-such-flag\nRun \"safewrr " + name + " -h\" for usage.\n"
		if errOut != want || out != "" {
			t.Errorf("safewrr %s --no-such-flag: stdout %q stderr %q", name, out, errOut)
		}
	}
}
