package luacompat

import (
	"errors"
	"strconv"

	"github.com/yuin/gopher-lua/ast"
)

// A module loaded from Config.LuaPath is compiled from a rewritten syntax
// tree, never from edited text. The rewrite does two things:
//
//   - it counts steps: a call to the run's meter opens every function body,
//     every loop body and every goto label, so an endless loop or endless
//     (tail) recursion ends at the step limit, whatever the machine's load;
//   - it gives the operators LuaJIT's meaning: arithmetic, unary minus and
//     concatenation become calls of Go functions that coerce strings the
//     way LuaJIT does, compute % as Lua 5.1 defines it (a - floor(a/b)*b),
//     write numbers as LuaJIT does ("%.14g") and count the bytes they build;
//     numeric for loops coerce their control values as LuaJIT does; table
//     constructors and single index assignments count the table slots they
//     add;
//   - it charges the work gopher-lua does on a long string that steps
//     cannot see: a comparison (==, ~=, <, <=, >, >=) of two operands
//     that are not short constants, and an index with a key that is not a
//     constant, pass their left operand or key through a runtime function
//     that charges for a string's length (comparing or hashing reads at
//     most that many bytes: == and hashing run at memory speed, a step per
//     bytesPerStep bytes; <, <=, >, >= walk byte by byte in gopher-lua, a
//     step per compileBytesPerStep bytes) and returns it unchanged, so the
//     operation, its metamethods and its errors are gopher-lua's own.
//
// The runtime reaches the rewritten code as locals of a wrapper chunk whose
// names are not Lua identifiers, so module code can neither name nor
// replace them:
//
//	local <rt names> = ...          -- the runtime, passed in by the loader
//	return function(...) <the module's own chunk, rewritten> end

// Names of the runtime's locals in a rewritten chunk. Each holds a Go
// function of the run's meter (see meter.runtime).
const (
	rtStep    = "safewrr.step"
	rtAdd     = "safewrr.add"
	rtSub     = "safewrr.sub"
	rtMul     = "safewrr.mul"
	rtDiv     = "safewrr.div"
	rtMod     = "safewrr.mod"
	rtPow     = "safewrr.pow"
	rtUnm     = "safewrr.unm"
	rtConcat  = "safewrr.concat"
	rtForNum  = "safewrr.fornum"
	rtTable   = "safewrr.table"
	rtSetItem = "safewrr.setitem"
	rtKey     = "safewrr.key"
	rtOrder   = "safewrr.order"
)

// rtNames lists the runtime's locals in the order the loader passes them.
var rtNames = []string{rtStep, rtAdd, rtSub, rtMul, rtDiv, rtMod, rtPow, rtUnm, rtConcat, rtForNum, rtTable, rtSetItem, rtKey, rtOrder}

var arithNames = map[string]string{"+": rtAdd, "-": rtSub, "*": rtMul, "/": rtDiv, "%": rtMod, "^": rtPow}

// rewriteChunk returns the wrapper chunk around the rewritten statements of
// a module.
func rewriteChunk(stmts []ast.Stmt) (out []ast.Stmt, err error) {
	rw := &rewriter{}
	defer func() {
		if p := recover(); p != nil {
			if p != errTooDeep {
				panic(p)
			}
			out, err = nil, errTooDeep
		}
	}()
	body := rw.rewriteBlock(stmts, true)
	exprs := []ast.Expr{&ast.Comma3Expr{}}
	inner := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: true}, Stmts: body}
	return []ast.Stmt{
		&ast.LocalAssignStmt{Names: append([]string(nil), rtNames...), Exprs: exprs},
		&ast.ReturnStmt{Exprs: []ast.Expr{inner}},
	}, nil
}

// maxSyntaxDepth bounds how deeply blocks and expressions of a loaded chunk
// may nest. The rewrite and gopher-lua's compiler recurse once per level, so
// a chunk of a million nested parentheses would otherwise grow the Go stack
// by hundreds of megabytes. LuaJIT's parser stops at 200 levels of nested
// blocks and calls ("chunk has too many syntax levels"); the bound here is
// looser, because gopher-lua's parser nests a chain of left-associative
// operators (1+1+...+1) one level per operator where LuaJIT loops.
const maxSyntaxDepth = 1000

// maxConcatParts bounds a chain a .. b .. c, which the rewrite turns into
// one call with an argument per part (LuaJIT refuses such a chain long
// before: its operands take a register each).
const maxConcatParts = 1000

var errTooDeep = errors.New("chunk has too many syntax levels")

// rewriter carries the nesting depth through the rewrite.
type rewriter struct{ depth int }

func (rw *rewriter) enter() {
	rw.depth++
	if rw.depth > maxSyntaxDepth {
		panic(errTooDeep)
	}
}

func (rw *rewriter) leave() { rw.depth-- }

func ident(name string) ast.Expr { return &ast.IdentExpr{Value: name} }

// rtCall is a call of a runtime function with one result.
func rtCall(name string, line int, args ...ast.Expr) *ast.FuncCallExpr {
	c := &ast.FuncCallExpr{Func: ident(name), Args: args, AdjustRet: true}
	c.SetLine(line)
	c.SetLastLine(line)
	return c
}

// stepStmt is the statement "step()".
func stepStmt(line int) ast.Stmt {
	c := rtCall(rtStep, line)
	c.AdjustRet = false
	s := &ast.FuncCallStmt{Expr: c}
	s.SetLine(line)
	s.SetLastLine(line)
	return s
}

// rewriteBlock rewrites a block in place; counted blocks (a function or
// loop body) begin with a step.
func (rw *rewriter) rewriteBlock(stmts []ast.Stmt, counted bool) []ast.Stmt {
	rw.enter()
	defer rw.leave()
	out := make([]ast.Stmt, 0, len(stmts)+1)
	if counted {
		line := 0
		if len(stmts) > 0 {
			line = stmts[0].Line()
		}
		out = append(out, stepStmt(line))
	}
	for _, s := range stmts {
		out = append(out, rw.rewriteStmt(s))
		if l, ok := s.(*ast.LabelStmt); ok {
			// A backward goto loops through its label.
			out = append(out, stepStmt(l.Line()))
		}
	}
	return out
}

func (rw *rewriter) rewriteExprs(es []ast.Expr) {
	for i, e := range es {
		es[i] = rw.rewriteExpr(e)
	}
}

func (rw *rewriter) rewriteStmt(s ast.Stmt) ast.Stmt {
	switch s := s.(type) {
	case *ast.AssignStmt:
		rw.rewriteExprs(s.Lhs)
		rw.rewriteExprs(s.Rhs)
		if len(s.Lhs) > 1 {
			return multiAssign(s)
		}
		return singleAssign(s)
	case *ast.LocalAssignStmt:
		rw.rewriteExprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = rw.rewriteExpr(s.Expr)
	case *ast.DoBlockStmt:
		s.Stmts = rw.rewriteBlock(s.Stmts, false)
	case *ast.WhileStmt:
		s.Condition = rw.rewriteExpr(s.Condition)
		s.Stmts = rw.rewriteBlock(s.Stmts, true)
	case *ast.RepeatStmt:
		s.Condition = rw.rewriteExpr(s.Condition)
		s.Stmts = rw.rewriteBlock(s.Stmts, true)
	case *ast.IfStmt:
		s.Condition = rw.rewriteExpr(s.Condition)
		s.Then = rw.rewriteBlock(s.Then, false)
		s.Else = rw.rewriteBlock(s.Else, false)
	case *ast.NumberForStmt:
		s.Init = rtCall(rtForNum, s.Line(), rw.rewriteExpr(s.Init), &ast.StringExpr{Value: "initial"})
		s.Limit = rtCall(rtForNum, s.Line(), rw.rewriteExpr(s.Limit), &ast.StringExpr{Value: "limit"})
		if s.Step != nil {
			s.Step = rtCall(rtForNum, s.Line(), rw.rewriteExpr(s.Step), &ast.StringExpr{Value: "step"})
		}
		s.Stmts = rw.rewriteBlock(s.Stmts, true)
	case *ast.GenericForStmt:
		rw.rewriteExprs(s.Exprs)
		s.Stmts = rw.rewriteBlock(s.Stmts, true)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			if s.Name.Func != nil {
				s.Name.Func = rw.rewriteExpr(s.Name.Func)
			}
			if s.Name.Receiver != nil {
				s.Name.Receiver = rw.rewriteExpr(s.Name.Receiver)
			}
		}
		rw.rewriteFunc(s.Func)
	case *ast.ReturnStmt:
		rw.rewriteExprs(s.Exprs)
	}
	return s
}

func (rw *rewriter) rewriteFunc(f *ast.FunctionExpr) {
	f.Stmts = rw.rewriteBlock(f.Stmts, true)
}

// isCheapConst reports whether e is a constant that a comparison or a
// table lookup handles without work proportional to a long string: nil, a
// boolean, a number, or a string literal shorter than n bytes.
func isCheapConst(e ast.Expr, n int) bool {
	switch e := e.(type) {
	case *ast.NilExpr, *ast.TrueExpr, *ast.FalseExpr, *ast.NumberExpr:
		return true
	case *ast.StringExpr:
		return len(e.Value) < n
	}
	return false
}

func isNumberConst(e ast.Expr) bool {
	_, ok := e.(*ast.NumberExpr)
	return ok
}

func (rw *rewriter) rewriteExpr(e ast.Expr) ast.Expr {
	rw.enter()
	defer rw.leave()
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		e.Object = rw.rewriteExpr(e.Object)
		e.Key = rw.rewriteExpr(e.Key)
		if !isCheapConst(e.Key, bytesPerStep) {
			e.Key = rtCall(rtKey, e.Line(), e.Key)
		}
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				f.Key = rw.rewriteExpr(f.Key)
			}
			f.Value = rw.rewriteExpr(f.Value)
		}
		if len(e.Fields) > 0 {
			return rtCall(rtTable, e.Line(), e)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			e.Func = rw.rewriteExpr(e.Func)
		}
		if e.Receiver != nil {
			e.Receiver = rw.rewriteExpr(e.Receiver)
		}
		rw.rewriteExprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = rw.rewriteExpr(e.Lhs)
		e.Rhs = rw.rewriteExpr(e.Rhs)
	case *ast.RelationalOpExpr:
		// Lua 5.1 and LuaJIT coerce nothing in comparisons, and neither
		// does gopher-lua: left as it is, but for the charge on a long
		// string. Comparing costs at most the shorter operand's length,
		// so charging the left one is enough; against a short constant it
		// costs little and is not charged.
		e.Lhs = rw.rewriteExpr(e.Lhs)
		e.Rhs = rw.rewriteExpr(e.Rhs)
		switch {
		case e.Operator == "==" || e.Operator == "~=":
			if !isCheapConst(e.Lhs, bytesPerStep) && !isCheapConst(e.Rhs, bytesPerStep) {
				e.Lhs = rtCall(rtKey, e.Line(), e.Lhs)
			}
		case !isCheapConst(e.Lhs, compileBytesPerStep) && !isCheapConst(e.Rhs, compileBytesPerStep):
			e.Lhs = rtCall(rtOrder, e.Line(), e.Lhs)
		}
	case *ast.StringConcatOpExpr:
		// a .. b .. c is right-nested; one call joins the whole chain.
		var parts []ast.Expr
		var cur ast.Expr = e
		for {
			c, ok := cur.(*ast.StringConcatOpExpr)
			if !ok {
				parts = append(parts, rw.rewriteExpr(cur))
				break
			}
			parts = append(parts, rw.rewriteExpr(c.Lhs))
			cur = c.Rhs
			if len(parts) > maxConcatParts {
				panic(errTooDeep)
			}
		}
		return rtCall(rtConcat, e.Line(), parts...)
	case *ast.ArithmeticOpExpr:
		e.Lhs = rw.rewriteExpr(e.Lhs)
		e.Rhs = rw.rewriteExpr(e.Rhs)
		if e.Operator != "%" && isNumberConst(e.Lhs) && isNumberConst(e.Rhs) {
			return e // two number constants: the same in every engine
		}
		return rtCall(arithNames[e.Operator], e.Line(), e.Lhs, e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = rw.rewriteExpr(e.Expr)
		if isNumberConst(e.Expr) {
			return e
		}
		return rtCall(rtUnm, e.Line(), e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = rw.rewriteExpr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = rw.rewriteExpr(e.Expr)
	case *ast.FunctionExpr:
		rw.rewriteFunc(e)
	}
	return e
}

// multiAssign rewrites a, b = x, y through fresh locals. gopher-lua's own
// code for it can read a target it has already written (a, b = b, a leaves
// both equal); Lua evaluates every table and key on the left, then every
// value on the right, before it assigns anything, and so does the rewrite:
//
//	do
//	  local o1, k1 = t, k              -- tables and keys on the left
//	  local v1, v2 = x, y              -- the values
//	  b = v2; o1[k1] = v1              -- then the assignments
//	end
func multiAssign(s *ast.AssignStmt) ast.Stmt {
	line := s.Line()
	n := 0
	tmp := func() string {
		n++
		return "safewrr.tmp" + strconv.Itoa(n)
	}
	var stmts []ast.Stmt
	local := func(names []string, exprs []ast.Expr) {
		ls := &ast.LocalAssignStmt{Names: names, Exprs: exprs}
		ls.SetLine(line)
		ls.SetLastLine(line)
		stmts = append(stmts, ls)
	}
	var names []string
	var exprs []ast.Expr
	for _, l := range s.Lhs {
		if a, ok := l.(*ast.AttrGetExpr); ok {
			o, k := tmp(), tmp()
			names = append(names, o, k)
			exprs = append(exprs, a.Object, a.Key)
			a.Object, a.Key = ident(o), ident(k)
		}
	}
	if len(names) > 0 {
		local(names, exprs)
	}
	vals := make([]string, len(s.Lhs))
	for i := range vals {
		vals[i] = tmp()
	}
	local(vals, s.Rhs)
	for i := len(s.Lhs) - 1; i >= 0; i-- {
		one := &ast.AssignStmt{Lhs: []ast.Expr{s.Lhs[i]}, Rhs: []ast.Expr{ident(vals[i])}}
		one.SetLine(line)
		one.SetLastLine(line)
		stmts = append(stmts, singleAssign(one))
	}
	do := &ast.DoBlockStmt{Stmts: stmts}
	do.SetLine(line)
	do.SetLastLine(s.LastLine())
	return do
}

// singleAssign is t[k] = v through setitem, which counts the slot it may add;
// any other single assignment is left as it is.
func singleAssign(s *ast.AssignStmt) ast.Stmt {
	a, ok := s.Lhs[0].(*ast.AttrGetExpr)
	if !ok || len(s.Rhs) != 1 {
		return s
	}
	// Arguments are evaluated left to right: t, k, then v, as Lua does.
	c := rtCall(rtSetItem, s.Line(), a.Object, a.Key, s.Rhs[0])
	c.AdjustRet = false
	fs := &ast.FuncCallStmt{Expr: c}
	fs.SetLine(s.Line())
	fs.SetLastLine(s.LastLine())
	return fs
}
