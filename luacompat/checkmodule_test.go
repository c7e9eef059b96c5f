package luacompat

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckModule: CheckModule fails, wrapping ErrModuleUnreadable, only
// when the module's file cannot be found or read; a module that is read but
// does not compile or raises an error passes it (Run reports those).
func TestCheckModule(t *testing.T) {
	write := func(t *testing.T, dir, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "resty", "roundrobin.lua"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, src string
		write     bool
		ok        bool
	}{
		{"syntax error", "local = 1", true, true},
		{"raises", `error("x")`, true, true},
		{"missing", "", false, false},
		{"bytecode", "\x1bLJ", true, false},
		{"too large", string(make([]byte, DefaultMaxFileSize+1)), true, false},
	} {
		dir := t.TempDir()
		if tc.write {
			write(t, dir, tc.src)
		}
		err := CheckModule(Config{LuaPath: dir})
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrModuleUnreadable)) {
			t.Errorf("%s: CheckModule = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if err := CheckModule(Config{LuaPath: filepath.Join(t.TempDir(), "none")}); !errors.Is(err, ErrModuleUnreadable) {
		t.Errorf("missing directory: %v", err)
	}
	if err := CheckModule(Config{Model: NginxSWRR}); err != nil {
		t.Errorf("built-in model: %v", err)
	}
}
