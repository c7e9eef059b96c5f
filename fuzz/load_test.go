package fuzz

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/luacompat"
)

// TestLuaModuleThatNeverLoads: a module under SAFEWRR_LUA_PATH that cannot
// be loaded (no such directory, no such module, one that requires what only
// OpenResty has, one that hangs or returns no table) fails every input at
// once with a *LuaLoadError that carries the load error, whatever the input
// and whatever SAFEWRR_LUA_FINDINGS says; a module that loads is fuzzed.
func TestLuaModuleThatNeverLoads(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "resty"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	swrr, err := luacompat.ModelSource(luacompat.NginxSWRR)
	if err != nil {
		t.Fatal(err)
	}
	write("resty/roundrobin.lua", string(swrr))
	// Like resty.chash, which needs LuaJIT's bit and ffi and OpenResty's ngx.
	write("resty/chash.lua", "local bit = require \"bit\"\nlocal ngx = ngx.worker.id()\nreturn {}\n")
	write("resty/loops.lua", "while true do end\n")
	write("resty/number.lua", "return 42\n")

	inputs := [][]byte{[]byte(`{a=10, b=5}`), {0x80, 3, 1, 2}, []byte("not a node set")}
	tests := []struct {
		path, module string
		want         string // "" when the module loads
	}{
		{filepath.Join(dir, "nonexistent", "lib"), "", "no such file or directory"},
		{filepath.Join(dir, "resty", "roundrobin.lua"), "", "not a directory"},
		{dir, "resty.chash", "bit"},
		{dir, "resty.missing", "not found"},
		{dir, "resty.loops", "hangs while loading"},
		{dir, "resty.number", "not a table with new()"},
		{dir, "", ""},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.path)+"/"+tc.module, func(t *testing.T) {
			t.Setenv(EnvLuaPath, tc.path)
			t.Setenv(EnvLuaModule, tc.module)
			for _, findings := range []string{"none", "hang", "hang,error"} {
				t.Setenv(EnvLuaFindings, findings)
				for _, in := range inputs {
					_, err := LuaModule(in)
					var le *LuaLoadError
					switch {
					case tc.want == "" && errors.As(err, &le):
						t.Fatalf("LuaModule(%q) = %v for a module that loads", in, err)
					case tc.want == "":
					case !errors.As(err, &le):
						t.Fatalf("findings %q: LuaModule(%q) = %v, want a *LuaLoadError", findings, in, err)
					case le.Dir != tc.path || !strings.Contains(le.Error(), tc.want):
						t.Fatalf("LuaModule(%q) = %v, want the load error (%q) for %s", in, err, tc.want, tc.path)
					}
				}
			}
		})
	}
	t.Run("module without a path", func(t *testing.T) {
		t.Setenv(EnvLuaPath, "")
		t.Setenv(EnvLuaModule, "resty.chash")
		var le *LuaLoadError
		if _, err := LuaModule([]byte(`{a=1}`)); !errors.As(err, &le) || !strings.Contains(err.Error(), EnvLuaPath) {
			t.Fatalf("LuaModule with %s and no %s = %v, want a *LuaLoadError naming %s", EnvLuaModule, EnvLuaPath, err, EnvLuaPath)
		}
	})
}
