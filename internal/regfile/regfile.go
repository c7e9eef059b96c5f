// Package regfile reads a file named by an untrusted path without ever
// blocking on it: the path must name a regular file, and at most a bounded
// number of bytes are read. A FIFO, a device (such as /dev/zero or a
// terminal), a directory or a socket is refused with an error that says
// what it is, and so is a path that does not resolve (a dangling symbolic
// link, a loop of links).
//
// The path is judged twice. A stat before the open refuses what is plainly
// not a regular file without opening it at all: opening a device can act
// (a terminal, a tape that rewinds), and a socket cannot be opened, only
// named. The file is then opened non-blocking (a FIFO without a writer
// would otherwise block the open itself) and without becoming a
// controlling terminal, and judged again by fstat on the open descriptor,
// so a regular file swapped for a FIFO or a device between the stat and the
// open is refused rather than waited on.
package regfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Read reads the regular file at path and returns at most limit+1 bytes of
// it (one byte past the limit tells the caller the file is too large; the
// caller decides what to say). A limit of 0 or less reads nothing but still
// checks the file. Errors name the path.
func Read(path string, limit int64) ([]byte, error) {
	// A stat error (a dangling link, a loop) is left to the open, which
	// reports it the usual way.
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if limit < 0 {
		limit = 0
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// NotRegularError is the error of Read for a path that names something other
// than a regular file.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is not a regular file (%s)", e.Path, Kind(e.Mode))
}

// Kind names the type of a file mode in words: "a directory", "a named pipe
// (FIFO)", "a character device", "a block device", "a socket", "a symbolic
// link", "an irregular file", or "a regular file".
func Kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	default:
		return "an irregular file"
	}
}
