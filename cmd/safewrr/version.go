package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

func init() {
	register(command{
		name:    "version",
		summary: "print the module version and the VCS revision it was built from",
		usage: `Usage:
  safewrr version

Prints the module version and, when the binary was built from a checkout,
the VCS revision, its time and whether the tree had local changes, as Go
recorded them in the build information.

Example:
  safewrr version
`,
		run: runVersion,
	})
}

// readBuildInfo is debug.ReadBuildInfo; tests replace it.
var readBuildInfo = debug.ReadBuildInfo

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(commands["version"], stdout, stderr)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "safewrr version: unexpected argument %q\n", fs.Arg(0))
		fmt.Fprintln(stderr, `Run "safewrr version -h" for usage.`)
		return exitUsage
	}
	bi, ok := readBuildInfo()
	fmt.Fprint(stdout, versionText(bi, ok))
	return exitOK
}

// versionText renders the build information: the module and its version,
// then the revision line when the build recorded one, then Go's version.
func versionText(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "safewrr: no build information in this binary\n"
	}
	var b strings.Builder
	path, version := bi.Main.Path, bi.Main.Version
	if path == "" {
		path = "github.com/safewrr/safewrr"
	}
	if version == "" {
		version = "(devel)"
	}
	fmt.Fprintf(&b, "safewrr %s %s\n", path, version)
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if rev := set["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision %s", rev)
		var extra []string
		if t := set["vcs.time"]; t != "" {
			extra = append(extra, t)
		}
		if set["vcs.modified"] == "true" {
			extra = append(extra, "with local changes")
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("revision unknown (the build recorded none: go build records it in a git checkout unless -buildvcs=false)\n")
	}
	fmt.Fprintf(&b, "%s\n", bi.GoVersion)
	return b.String()
}
