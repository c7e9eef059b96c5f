//go:build e2e

package fuzz_test

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// libfuzzerScript is fuzz/libfuzzer.sh, run from the package directory.
const libfuzzerScript = "./libfuzzer.sh"

// frame is a libFuzzer input as a go-118-fuzz-build target reads it: a
// 4-byte big-endian length, then the bytes.
func frame(data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	return append(out, data...)
}

// importFindings runs libfuzzer.sh import TARGET on a work directory and a
// seed directory of the test's own.
func importFindings(t *testing.T, work, seedDir, target string) string {
	t.Helper()
	cmd := exec.Command("bash", libfuzzerScript, "import", target)
	cmd.Env = append(os.Environ(), "LIBFUZZER_WORKDIR="+work, "LIBFUZZER_SEEDS="+seedDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("libfuzzer.sh import %s: %v\n%s", target, err, out)
	}
	return string(out)
}

// TestLibfuzzerImport turns libFuzzer findings into seed files: the bytes
// the target saw for Balancer, a Lua table literal for LuaModule, and a
// finding that is a seed already is not imported twice.
func TestLibfuzzerImport(t *testing.T) {
	work, seedDir := t.TempDir(), t.TempDir()
	script := []byte("nodes a=1 b=2\ncycle\n")
	lua := []byte{0, 10, 1, 0} // binary node set: 10, then the string "0"
	for dir, files := range map[string]map[string][]byte{
		"FuzzBalancer":  {"crash-1": frame(script), "timeout-2": frame(script), "leak-3": frame([]byte("x"))},
		"FuzzLuaModule": {"crash-4": frame(lua)},
	} {
		if err := os.MkdirAll(filepath.Join(work, "findings", dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(work, "findings", dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	out := importFindings(t, work, seedDir, "Balancer")
	ents, _ := os.ReadDir(filepath.Join(seedDir, "balancer"))
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), "found-") || !strings.HasSuffix(ents[0].Name(), ".txt") {
		t.Fatalf("seeds after import: %v, want one found-*.txt (two findings, same bytes; leak-* is not a finding)\n%s", ents, out)
	}
	got, _ := os.ReadFile(filepath.Join(seedDir, "balancer", ents[0].Name()))
	if string(got) != string(script) {
		t.Fatalf("imported %q, want %q", got, script)
	}
	out = importFindings(t, work, seedDir, "FuzzBalancer")
	if ents, _ := os.ReadDir(filepath.Join(seedDir, "balancer")); len(ents) != 1 || !strings.Contains(out, "imported 0 finding(s)") {
		t.Fatalf("second import wrote %v, want nothing new\n%s", ents, out)
	}

	importFindings(t, work, seedDir, "luamodule")
	ents, _ = os.ReadDir(filepath.Join(seedDir, "lua"))
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), ".lua") {
		t.Fatalf("lua seeds after import: %v, want one .lua file", ents)
	}
	got, _ = os.ReadFile(filepath.Join(seedDir, "lua", ents[0].Name()))
	if want := `{n1=10, n2="0"}` + "\n"; string(got) != want {
		t.Fatalf("imported %q, want %q", got, want)
	}
}

// TestLibfuzzerList checks that the script finds every native fuzz target
// of both packages, as OSS-Fuzz's build would.
func TestLibfuzzerList(t *testing.T) {
	out, err := exec.Command("bash", libfuzzerScript, "list").CombinedOutput()
	if err != nil {
		t.Fatalf("libfuzzer.sh list: %v\n%s", err, out)
	}
	for _, want := range []string{"FuzzWeights ./fuzz/core", "FuzzBalancer ./fuzz/core", "FuzzLuaModule ./fuzz", "FuzzDifferential ./fuzz"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("libfuzzer.sh list lacks %q:\n%s", want, out)
		}
	}
}
