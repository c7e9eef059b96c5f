// Command safewrr reproduces the 2021 Bilibili balancer hang, validates
// registry payloads, simulates weighted round robin, compares Go with Lua
// balancers, and runs a small reverse proxy built on the safewrr packages.
//
// Run "safewrr help" for the list of subcommands and "safewrr CMD -h" for one.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes, as documented in the command-line contract.
const (
	exitOK       = 0 // success
	exitRejected = 1 // the input was rejected, or the reproduction did not behave as described
	exitUsage    = 2 // usage or I/O error
)

// command is one subcommand. Each lives in its own file and registers itself
// from an init function.
type command struct {
	name    string
	summary string // one line for "safewrr help"
	usage   string // synopsis and an example, printed by "safewrr CMD -h"
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("safewrr: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the whole command line, testable in-process.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprint(stdout, c.usage)
				return exitOK
			}
			fmt.Fprintf(stderr, "safewrr: unknown command %q\n", args[1])
			return exitUsage
		}
		printHelp(stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "safewrr: unknown command %q\n\n", args[0])
		printHelp(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, "safewrr: a weighted round-robin balancer that cannot hang, and the tools that prove it.\n\nUsage:\n  safewrr COMMAND [flags]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "  help      show this list, or \"safewrr help COMMAND\" for one command\n\nRun \"safewrr COMMAND -h\" for a command's flags and an example.\n")
}

// newFlagSet returns a FlagSet for a subcommand whose -h prints the command's
// usage and flags to stdout. Parse errors go to stderr.
func newFlagSet(c command, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("safewrr "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, strings.TrimRight(c.usage, "\n")+"\n")
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(out, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args and maps -h and parse errors onto exit codes. It
// returns ok=false with the exit code when the command should stop. Flags may
// come before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, ok bool) {
	// flag prints its own message and the usage on any error, to the set's
	// output; silence it and print once here, to the right stream.
	stderr := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(stderr)
	var positional []string
	for {
		err := fs.Parse(args)
		if err == flag.ErrHelp {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitOK, false
		}
		if err != nil {
			// One line for the problem, one for the way out; the full
			// help stays on -h.
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			fmt.Fprintf(stderr, "Run \"%s -h\" for usage.\n", fs.Name())
			return exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	// Re-parse an empty list so fs.Args() returns the collected positionals.
	_ = fs.Parse(append([]string{"--"}, positional...))
	return 0, true
}
