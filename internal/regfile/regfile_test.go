//go:build unix

package regfile_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/safewrr/safewrr/internal/regfile"
	"github.com/safewrr/safewrr/internal/regfile/regfiletest"
)

// read runs regfile.Read with a bound: a Read that blocks fails the test
// instead of hanging it (the bound is for a broken Read, not a measure).
func read(t *testing.T, path string, limit int64) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := regfile.Read(path, limit)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("Read(%s) blocked", path)
		return nil, nil
	}
}

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		limit int64
		want  string
	}{{100, "0123456789"}, {10, "0123456789"}, {9, "0123456789"}, {4, "01234"}, {0, "0"}, {-1, "0"}} {
		if got, err := read(t, path, c.limit); err != nil || string(got) != c.want {
			t.Errorf("Read(limit %d) = %q, %v; want %q", c.limit, got, err, c.want)
		}
	}
	// A link to a regular file is read through.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, link, 100); err != nil || string(got) != "0123456789" {
		t.Errorf("Read(link) = %q, %v", got, err)
	}
}

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	cases := regfiletest.Specials(t)
	dir := t.TempDir()
	toFIFO := filepath.Join(dir, "to-fifo")
	if err := os.Symlink(cases[0].Path, toFIFO); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases = append(cases,
		regfiletest.Case{Name: "link to a fifo", Path: toFIFO, Want: "is not a regular file (a named pipe (FIFO))"},
		regfiletest.Case{Name: "dev null", Path: "/dev/null", Want: "is not a regular file (a character device)"},
		regfiletest.Case{Name: "socket", Path: sock, Want: "is not a regular file (a socket)"},
		regfiletest.Case{Name: "missing", Path: filepath.Join(dir, "nope"), Want: "no such file or directory"},
	)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			data, err := read(t, c.Path, 1<<20)
			if err == nil || !strings.Contains(err.Error(), c.Want) || data != nil {
				t.Fatalf("Read(%s) = %d bytes, %v; want an error containing %q", c.Path, len(data), err, c.Want)
			}
		})
	}
}

// A FIFO that a writer holds open and fills is refused at once, not read.
func TestReadRefusesAFIFOWithAWriter(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	regfiletest.Mkfifo(t, fifo)
	// Open the read side first (non-blocking) so the writer's open returns.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write([]byte(`{"a:1": 1}`)); err != nil {
		t.Fatal(err)
	}
	if data, err := read(t, fifo, 1<<20); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("Read = %q, %v", data, err)
	}
}

func TestKind(t *testing.T) {
	for m, want := range map[os.FileMode]string{
		0o644:                             "a regular file",
		os.ModeDir | 0o755:                "a directory",
		os.ModeNamedPipe:                  "a named pipe (FIFO)",
		os.ModeDevice | os.ModeCharDevice: "a character device",
		os.ModeDevice:                     "a block device",
		os.ModeSocket:                     "a socket",
		os.ModeSymlink:                    "a symbolic link",
		os.ModeIrregular:                  "an irregular file",
	} {
		if got := regfile.Kind(m); got != want {
			t.Errorf("Kind(%v) = %q want %q", m, got, want)
		}
	}
}
