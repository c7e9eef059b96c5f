package luacompat

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Names of the built-in Lua models.
const (
	// Resty2020 models lua-resty-balancer's resty.roundrobin before the July
	// 2021 fix: weights are used as given, so the string "0" makes its gcd
	// recurse forever (or, in the other iteration order, raises a
	// string-with-number comparison error).
	Resty2020 = "resty-roundrobin-2020"
	// Resty2021 models resty.roundrobin after the fix: every weight goes
	// through tonumber when the nodes are copied.
	Resty2021 = "resty-roundrobin-2021"
	// NginxSWRR is nginx's smooth weighted round robin.
	NginxSWRR = "nginx-swrr"
)

//go:embed models/*.lua
var modelFiles embed.FS

// ModelFiles holds the built-in models as NAME.lua files at its root, for
// callers that want to copy them somewhere (nginx's lua_package_path, a
// LuaJIT test).
var ModelFiles fs.FS = mustSub(modelFiles, "models")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

var modelNames = []string{Resty2020, Resty2021, NginxSWRR}

// Models returns the names of the built-in models.
func Models() []string { return append([]string(nil), modelNames...) }

// IsModel reports whether name is a built-in model.
func IsModel(name string) bool {
	for _, n := range modelNames {
		if n == name {
			return true
		}
	}
	return false
}

// ModelSource returns the Lua source of a built-in model. Each is a plain Lua
// 5.1 module that returns a table with new(nodes) and find(); it runs
// unchanged under LuaJIT and ngx_lua.
func ModelSource(name string) ([]byte, error) {
	if !IsModel(name) {
		return nil, fmt.Errorf("luacompat: unknown model %q (have %v)", name, modelNames)
	}
	return fs.ReadFile(ModelFiles, name+".lua")
}

// WriteModels writes every built-in model to dir as NAME.lua, so that
// `require "resty-roundrobin-2020"` finds it with package.path "dir/?.lua".
func WriteModels(dir string) error {
	for _, name := range modelNames {
		src, err := ModelSource(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".lua"), src, 0o644); err != nil {
			return fmt.Errorf("luacompat: %w", err)
		}
	}
	return nil
}

// compiled function prototypes of the models, compiled once per process.
var (
	protoOnce sync.Once
	protos    map[string]*lua.FunctionProto
	protoErr  error
)

func modelProto(name string) (*lua.FunctionProto, error) {
	protoOnce.Do(func() {
		protos = make(map[string]*lua.FunctionProto, len(modelNames))
		for _, n := range modelNames {
			src, err := ModelSource(n)
			if err != nil {
				protoErr = err
				return
			}
			p, err := compile(src, n+".lua")
			if err != nil {
				protoErr = err
				return
			}
			protos[n] = p
		}
	})
	if protoErr != nil {
		return nil, protoErr
	}
	p, ok := protos[name]
	if !ok {
		return nil, fmt.Errorf("luacompat: unknown model %q (have %v)", name, modelNames)
	}
	return p, nil
}

// compileModule compiles a module loaded from a directory through the
// rewrite of its syntax tree (see transform.go). The prototype is the
// wrapper chunk: called with the runtime, it returns the module's chunk.
func compileModule(src []byte, chunk string) (*lua.FunctionProto, error) {
	stmts, err := parseChunk(src, chunk)
	if err != nil {
		return nil, err
	}
	rewritten, err := rewriteChunk(stmts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", chunk, err)
	}
	return lua.Compile(rewritten, chunk)
}

// compile parses and compiles Lua source into a reusable prototype.
func compile(src []byte, chunk string) (*lua.FunctionProto, error) {
	stmts, err := parseChunk(src, chunk)
	if err != nil {
		return nil, err
	}
	return lua.Compile(stmts, chunk)
}

// errBinaryChunk refuses precompiled bytecode: only source is rewritten
// and counted.
var errBinaryChunk = errors.New("binary chunks are refused: only Lua source is loaded")

func parseChunk(src []byte, chunk string) ([]ast.Stmt, error) {
	if len(src) > 0 && src[0] == 0x1b { // "\27Lua", "\27LJ": bytecode
		return nil, fmt.Errorf("%s: %w", chunk, errBinaryChunk)
	}
	if len(src) > 0 && src[0] == '#' { // a "#!" first line, as lua skips it
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			src = src[i:]
		} else {
			src = nil
		}
	}
	return parse.Parse(bytes.NewReader(src), chunk)
}
