package luacompat

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/safewrr/safewrr/internal/regfile"
)

// Sandbox bounds. A tail call reuses its frame in gopher-lua, so a
// tail-recursive loop such as the incident's _gcd never reaches the call
// stack limit; it is stopped by the step limit or the budget instead. The
// models never nest more than a few calls; a module loaded from a directory
// gets 3,000 frames, grown on demand. LuaJIT allows deeper recursion (its Lua
// stack holds 65,500 slots), but a balancer that recurses thousands of levels
// without a tail call is broken either way, and gopher-lua takes long enough
// to unwind a deeper overflow that a budget might call it a hang.
const (
	modelCallStack  = 200     // Lua call frames, built-in models
	moduleCallStack = 3000    // Lua call frames, modules from a directory
	registrySize    = 1024    // initial value stack slots
	registryMaxSize = 1 << 20 // value stack slots at most
	maxStringRep    = 1 << 20 // bytes string.rep may build
)

// newSandbox returns a Lua state with only the base, table, string, math and
// package libraries; no os, io, debug or coroutine. File loading (dofile,
// loadfile, package.loadlib) and string.dump are gone, loadstring and load
// compile through the rewrite when dir is set and are gone otherwise, print writes nowhere, collectgarbage
// does nothing, math.random is a generator seeded from seed, tonumber reads
// strings the way LuaJIT does, and require finds modules only in preload and,
// when dir is not empty, under dir.
func newSandbox(seed uint64, dir string) *lua.LState {
	return newSeededSandbox(seed, dir).L
}

// sandbox is a Lua state and the source of its math.random.
type sandbox struct {
	L   *lua.LState
	src *rand.PCG
	// meter counts a loaded module's steps and bytes (nil for the models'
	// states); maxFile bounds the size of a module file.
	meter   *meter
	maxFile int64
	rt      []lua.LValue // the runtime of rewritten chunks, see runtime
}

const randomStream = 0x5afe1ca7

// reseed restarts math.random from seed.
func (sb *sandbox) reseed(seed uint64) { sb.src.Seed(seed, randomStream) }

// States for the built-in models, reused between runs: the models touch no
// globals and each run loads a fresh copy of the model, so a state carries
// nothing from one run to the next once its stack is emptied and its random
// generator reseeded. Building a state costs more than a short run.
var modelStates sync.Pool

func getModelSandbox(seed uint64) *sandbox {
	if v, ok := modelStates.Get().(*sandbox); ok {
		v.reseed(seed)
		return v
	}
	return newSeededSandbox(seed, "")
}

func putModelSandbox(sb *sandbox) {
	sb.L.SetTop(0)
	modelStates.Put(sb)
}

func newSeededSandbox(seed uint64, dir string) *sandbox {
	opts := lua.Options{
		SkipOpenLibs:    true,
		CallStackSize:   modelCallStack,
		RegistrySize:    registrySize,
		RegistryMaxSize: registryMaxSize,
	}
	if dir != "" {
		opts.CallStackSize, opts.MinimizeStackMemory = moduleCallStack, true
		opts.RegistryGrowStep = 4096
	}
	L := lua.NewState(opts)
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, // first: base's require needs it
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.Get(lua.GlobalsIndex).(*lua.LTable)
	// No file loading; no compiling at all in a model's state (a loaded
	// module's gets a loadstring and a load that compile through the
	// rewrite, see installBoundedBase); no bytecode either way.
	for _, name := range []string{"dofile", "loadfile", "_printregs", "loadstring", "load", "newproxy"} {
		g.RawSetString(name, lua.LNil)
	}
	g.RawSetString("print", L.NewFunction(func(*lua.LState) int { return 0 }))
	g.RawSetString("collectgarbage", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	g.RawSetString("tonumber", L.NewFunction(luaToNumber))
	g.RawSetString("type", L.NewFunction(luaType))

	if str, ok := g.RawGetString("string").(*lua.LTable); ok {
		str.RawSetString("dump", lua.LNil)
		rep := str.RawGetString("rep")
		str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
			s, n := L.CheckString(1), L.CheckInt(2)
			if n > 0 && len(s) > 0 && len(s) > maxStringRep/n {
				L.RaiseError("string.rep: result longer than %d bytes", maxStringRep)
			}
			L.Push(rep)
			L.Push(lua.LString(s))
			L.Push(lua.LNumber(n))
			L.Call(2, 1)
			return 1
		}))
	}

	src := rand.NewPCG(seed, randomStream)
	rng := rand.New(src)
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		m.RawSetString("random", L.NewFunction(func(L *lua.LState) int { return luaRandom(L, rng) }))
		m.RawSetString("randomseed", L.NewFunction(func(L *lua.LState) int {
			src.Seed(uint64(int64(float64(L.CheckNumber(1)))), randomStream)
			return 0
		}))
	}

	pkg := g.RawGetString("package").(*lua.LTable)
	pkg.RawSetString("loadlib", lua.LNil)
	pkg.RawSetString("path", lua.LString(""))
	pkg.RawSetString("cpath", lua.LString(""))
	loaders := pkg.RawGetString("loaders").(*lua.LTable)
	for i := loaders.Len(); i > 1; i-- {
		loaders.RawSetInt(i, lua.LNil)
	}
	sb := &sandbox{L: L, src: src}
	if dir != "" {
		sb.meter = &meter{phase: PhaseLoad, limit: 100 * DefaultStepLimit, memMax: DefaultMemoryLimit} // Run sets its own
		sb.maxFile = DefaultMaxFileSize
		pkg.RawSetString("path", lua.LString(filepath.Join(dir, "?.lua")+";"+filepath.Join(dir, "?", "init.lua")))
		loaders.RawSetInt(2, L.NewFunction(sb.dirLoader(dir)))
		installBounded(L, sb.meter)
		sb.installBoundedBase(L)
	}
	return sb
}

// typeNames holds type()'s answers as ready-made Lua values, so type()
// allocates nothing (the models call it on every arithmetic operand).
var typeNames = func() [lua.LTChannel + 1]lua.LValue {
	var names [lua.LTChannel + 1]lua.LValue
	for t := lua.LTNil; t <= lua.LTChannel; t++ {
		names[t] = lua.LString(t.String())
	}
	return names
}()

// luaType is type() without an allocation per call.
func luaType(L *lua.LState) int {
	t := L.CheckAny(1).Type()
	if int(t) < len(typeNames) {
		L.Push(typeNames[t])
	} else {
		L.Push(lua.LString(t.String()))
	}
	return 1
}

// luaRandom is math.random with Lua 5.1's interface: random() in [0,1),
// random(m) in [1,m], random(m,n) in [m,n].
func luaRandom(L *lua.LState, rng *rand.Rand) int {
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(rng.Float64()))
	case 1:
		m := int64(L.CheckNumber(1))
		if m < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(1 + rng.Int64N(m)))
	default:
		lo, hi := int64(L.CheckNumber(1)), int64(L.CheckNumber(2))
		if lo > hi {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(lo + rng.Int64N(hi-lo+1)))
	}
	return 1
}

// luaToNumber is tonumber with LuaJIT's reading of strings (see str2number).
func luaToNumber(L *lua.LState) int {
	v := L.CheckAny(1)
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		base := L.CheckInt(2)
		if base < 2 || base > 36 {
			L.ArgError(2, "base out of range")
		}
		s := strings.Trim(lua.LVAsString(v), luaSpace)
		neg := strings.HasPrefix(s, "-")
		if neg {
			s = s[1:]
		}
		if n, err := strconv.ParseUint(s, base, 64); err == nil && s != "" && !strings.ContainsAny(s, "+-_") {
			f := float64(n)
			if neg {
				f = -f
			}
			L.Push(lua.LNumber(f))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	}
	switch x := v.(type) {
	case lua.LNumber:
		L.Push(x)
	case lua.LString:
		if f, ok := str2number(string(x)); ok {
			L.Push(lua.LNumber(f))
		} else {
			L.Push(lua.LNil)
		}
	default:
		L.Push(lua.LNil)
	}
	return 1
}

// luaSpace is what Lua's isspace skips around a number.
const luaSpace = " \t\n\v\f\r"

// str2number reads a string the way LuaJIT's tonumber and arithmetic
// coercion do: surrounding white space, an optional sign, then a decimal
// number with optional fraction and exponent ("017" is 17, "1e2" is 100), a
// hexadecimal one ("0x10", "0x1p4", "0x.8"), or inf, infinity or nan in any
// case, or (OpenResty's LuaJIT 2.1) a binary integer ("0b101" is 5). Anything
// else ("1_0", "0b2", "", "5\x00") is not a number.
func str2number(s string) (float64, bool) {
	s = strings.Trim(s, luaSpace)
	body := s
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	var f float64
	switch lower := strings.ToLower(body); {
	case lower == "inf" || lower == "infinity":
		f = math.Inf(1)
	case lower == "nan":
		f = math.NaN()
	case strings.HasPrefix(lower, "0b"):
		// OpenResty's LuaJIT reads binary integers of up to 64 digits.
		digits := lower[2:]
		if digits == "" || len(digits) > 64 || strings.Trim(digits, "01") != "" {
			return 0, false
		}
		v, err := strconv.ParseUint(digits, 2, 64)
		if err != nil {
			return 0, false
		}
		f = float64(v)
	case strings.HasPrefix(lower, "0x"):
		digits, frac, exp := scanHex(lower[2:])
		if !digits {
			return 0, false
		}
		text := lower
		if !exp {
			text += "p0"
		}
		if frac && strings.HasSuffix(lower, ".") {
			text = strings.TrimSuffix(lower, ".") + "p0"
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil && !isRange(err) {
			return 0, false
		}
		f = v
	default:
		if !scanDecimal(body) {
			return 0, false
		}
		v, err := strconv.ParseFloat(body, 64)
		if err != nil && !isRange(err) {
			return 0, false
		}
		f = v
	}
	if neg {
		f = -f
	}
	return f, true
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// scanDecimal reports whether s is digits [. digits] [e [sign] digits] with
// at least one mantissa digit.
func scanDecimal(s string) bool {
	i, n := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, n = i+1, n+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, n = i+1, n+1
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, e = i+1, e+1
		}
		if e == 0 {
			return false
		}
	}
	return i == len(s)
}

// scanHex checks the part of a lower-case hex number after "0x": hex digits
// [. hex digits] [p [sign] digits] with at least one mantissa digit.
func scanHex(s string) (digits, frac, exp bool) {
	isHex := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
	i, n := 0, 0
	for i < len(s) && isHex(s[i]) {
		i, n = i+1, n+1
	}
	if i < len(s) && s[i] == '.' {
		frac = true
		i++
		for i < len(s) && isHex(s[i]) {
			i, n = i+1, n+1
		}
	}
	if n == 0 {
		return false, false, false
	}
	if i < len(s) && s[i] == 'p' {
		exp = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, e = i+1, e+1
		}
		if e == 0 {
			return false, false, false
		}
	}
	return i == len(s), frac, exp
}

// Compiled modules loaded from a directory, keyed by file path and checked
// against the file's size and modification time, so repeated runs (a fuzzing
// campaign) compile each file once.
var (
	fileCacheMu sync.Mutex
	fileCache   = map[string]cachedFile{}
)

type cachedFile struct {
	size  int64
	mtime time.Time
	proto *lua.FunctionProto
}

// dirLoader returns a package.loaders entry that finds module a.b.c as
// dir/a/b/c.lua or dir/a/b/c/init.lua and nowhere else: names that would
// leave dir ("..", absolute paths) and files whose real path, symbolic links
// resolved, lies outside dir are refused.
func (sb *sandbox) dirLoader(dir string) lua.LGFunction {
	return func(L *lua.LState) int {
		name := L.CheckString(1)
		proto, full, missing, err := locateModule(dir, name, func(full string) (*lua.FunctionProto, error) {
			return loadFile(dir, full, sb.maxFile)
		})
		switch {
		case err != nil:
			L.RaiseError("error loading module '%s' from file '%s':\n\t%v", name, full, err)
		case missing != "":
			L.Push(lua.LString(missing))
		default:
			sb.instantiate(L, proto)
		}
		return 1
	}
}

// locateModule finds module a.b.c as dir/a/b/c.lua or dir/a/b/c/init.lua
// and loads the first that exists with load. When neither does, missing
// lists the files tried, in the words of Lua's "module not found" message;
// names that would leave dir are never tried.
func locateModule[T any](dir, name string, load func(full string) (T, error)) (v T, full, missing string, err error) {
	rel := strings.ReplaceAll(name, ".", "/")
	var msgs []string
	for _, cand := range []string{rel + ".lua", rel + "/init.lua"} {
		full = filepath.Join(dir, filepath.FromSlash(cand))
		if !validModulePath(cand) {
			msgs = append(msgs, fmt.Sprintf("\n\tno file '%s' (outside the module directory)", full))
			continue
		}
		v, err = load(full)
		if os.IsNotExist(err) {
			msgs = append(msgs, fmt.Sprintf("\n\tno file '%s'", full))
			continue
		}
		return v, full, "", err
	}
	return v, "", strings.Join(msgs, ""), nil
}

// instantiate pushes the chunk of a compiled module: the wrapper chunk
// (see transform.go) called with the run's runtime.
func (sb *sandbox) instantiate(L *lua.LState, proto *lua.FunctionProto) {
	L.Push(L.NewFunctionFromProto(proto))
	rt := sb.runtime(L)
	for _, fn := range rt {
		L.Push(fn)
	}
	L.Call(len(rt), 1)
}

func validModulePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// checkModuleFile resolves full, symbolic links and all, and checks that it
// lies inside dir and is a regular file of at most maxSize bytes.
func checkModuleFile(dir, full string, maxSize int64) (string, os.FileInfo, error) {
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", nil, err
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", nil, err
	}
	if r, err := filepath.Rel(root, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", nil, fmt.Errorf("%s lies outside the module directory", real)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", nil, err
	}
	if !st.Mode().IsRegular() {
		return "", nil, fmt.Errorf("%s is not a regular file (%s)", real, st.Mode().Type())
	}
	if st.Size() > maxSize {
		return "", nil, fmt.Errorf("%s is %d bytes, more than the %d a module file may have", real, st.Size(), maxSize)
	}
	return real, st, nil
}

func loadFile(dir, full string, maxSize int64) (*lua.FunctionProto, error) {
	real, st, err := checkModuleFile(dir, full, maxSize)
	if err != nil {
		return nil, err
	}
	fileCacheMu.Lock()
	c, ok := fileCache[real]
	fileCacheMu.Unlock()
	if ok && c.size == st.Size() && c.mtime.Equal(st.ModTime()) {
		return c.proto, nil
	}
	src, err := readBounded(real, maxSize)
	if err != nil {
		return nil, err
	}
	proto, err := compileModule(src, full)
	if err != nil {
		return nil, err
	}
	fileCacheMu.Lock()
	fileCache[real] = cachedFile{size: st.Size(), mtime: st.ModTime(), proto: proto}
	fileCacheMu.Unlock()
	return proto, nil
}

// readModuleSource reads a module file for the LuaJIT engine under the same
// rules as loadFile: inside dir, regular, at most maxSize bytes, source and
// not bytecode. A "#" first line is blanked, as lua skips it.
func readModuleSource(dir, full string, maxSize int64) ([]byte, error) {
	real, _, err := checkModuleFile(dir, full, maxSize)
	if err != nil {
		return nil, err
	}
	src, err := readBounded(real, maxSize)
	if err != nil {
		return nil, err
	}
	return moduleSource(src, full)
}

// moduleSource refuses bytecode and blanks a "#" first line.
func moduleSource(src []byte, chunk string) ([]byte, error) {
	if len(src) > 0 && src[0] == 0x1b {
		return nil, fmt.Errorf("%s: %w", chunk, errBinaryChunk)
	}
	if len(src) > 0 && src[0] == '#' {
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			src = src[i:]
		} else {
			src = nil
		}
	}
	return src, nil
}

// readBounded reads a regular file of at most maxSize bytes. The file is
// opened without blocking and checked again once open (regfile.Read), so a
// file swapped for a FIFO or a device after the first check is refused
// rather than waited on.
func readBounded(path string, maxSize int64) ([]byte, error) {
	src, err := regfile.Read(path, maxSize)
	if err != nil {
		return nil, err
	}
	if int64(len(src)) > maxSize {
		return nil, fmt.Errorf("%s is more than the %d bytes a module file may have", path, maxSize)
	}
	return src, nil
}

// ErrModuleUnreadable is wrapped by CheckModule's error: the module a Config
// names cannot be found in, or read from, its directory.
var ErrModuleUnreadable = errors.New("luacompat: module cannot be read")

// CheckModule reports whether the module cfg names (cfg.LuaPath and
// cfg.Module) can be found and read under the rules Run applies to it:
// DIR/a/b/c.lua or DIR/a/b/c/init.lua, inside DIR once symbolic links are
// resolved, a regular file of at most cfg.MaxFileSize bytes, Lua source and
// not bytecode. It neither compiles nor runs the module: a syntax error, an
// error the module raises or a limit it reaches is the module's own failure,
// which Run reports as a Result. A failure is an error wrapping
// ErrModuleUnreadable; a Config without LuaPath (a built-in model) gives nil.
func CheckModule(cfg Config) error {
	if cfg.LuaPath == "" {
		return nil
	}
	cfg = cfg.withDefaults()
	dir, err := filepath.Abs(cfg.LuaPath)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrModuleUnreadable, err)
	}
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: lua path: %v", ErrModuleUnreadable, err)
	} else if !st.IsDir() {
		return fmt.Errorf("%w: lua path %s is not a directory", ErrModuleUnreadable, dir)
	}
	_, full, missing, err := locateModule(dir, cfg.Module, func(full string) ([]byte, error) {
		return readModuleSource(dir, full, cfg.MaxFileSize)
	})
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: %v", ErrModuleUnreadable, full, err)
	case missing != "":
		return fmt.Errorf("%w: module '%s' not found:%s", ErrModuleUnreadable, cfg.Module, missing)
	}
	return nil
}
