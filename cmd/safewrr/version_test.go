package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/safewrr/safewrr", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-27T15:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	want := "safewrr github.com/safewrr/safewrr v1.2.3\n" +
		"revision 0123456789abcdef0123456789abcdef01234567 (2026-11-27T15:00:00Z, with local changes)\n" +
		"go1.26.0\n"
	if got := versionText(bi, true); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	bi.Settings, bi.Main.Version = nil, ""
	if got := versionText(bi, true); !strings.Contains(got, "(devel)") || !strings.Contains(got, "revision unknown") {
		t.Errorf("no version or revision: %q", got)
	}
	if got := versionText(nil, false); !strings.Contains(got, "no build information") {
		t.Errorf("no build info: %q", got)
	}
}

func TestVersionCommand(t *testing.T) {
	saved := readBuildInfo
	defer func() { readBuildInfo = saved }()
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/safewrr/safewrr", Version: "v0.1.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}}, true
	}
	code, out, errOut := runCLI(t, "version")
	if code != exitOK || out != "safewrr github.com/safewrr/safewrr v0.1.0\nrevision abc\ngo1.26.0\n" || errOut != "" {
		t.Errorf("exit %d stdout %q stderr %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "version", "extra"); code != exitUsage {
		t.Errorf("version extra: exit %d", code)
	}
}
