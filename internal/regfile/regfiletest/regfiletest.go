//go:build unix

// Package regfiletest makes, for tests, the paths that regfile.Read must
// refuse without blocking: a FIFO, a device, a directory, a dangling link
// and a loop of links, each with the words its error contains.
package regfiletest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Case is one path that is not a regular file and a part of the error that
// reading it must give.
type Case struct {
	Name, Path, Want string
}

// Specials creates a FIFO, a dangling link and a loop of links in a new
// temporary directory of t and returns them, with /dev/zero and the
// directory itself, as cases.
func Specials(t testing.TB) []Case {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	Mkfifo(t, fifo)
	dangling := filepath.Join(dir, "dangling")
	loop := filepath.Join(dir, "loop")
	for link, to := range map[string]string{dangling: filepath.Join(dir, "missing.json"), loop: loop} {
		if err := os.Symlink(to, link); err != nil {
			t.Fatal(err)
		}
	}
	return []Case{
		{"fifo", fifo, "is not a regular file (a named pipe (FIFO))"},
		{"dev zero", "/dev/zero", "/dev/zero is not a regular file (a character device)"},
		{"directory", dir, "is not a regular file (a directory)"},
		{"dangling link", dangling, "no such file or directory"},
		{"link loop", loop, "too many levels of symbolic links"},
	}
}

// Mkfifo makes a FIFO at path.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}
