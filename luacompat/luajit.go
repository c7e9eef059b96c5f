package luacompat

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/safewrr/safewrr/weights"
)

// Engines a run can use (Config.Engine).
const (
	// EngineGopherLua runs in this process, in gopher-lua, with the
	// rewrite and the bounded sandbox of a loaded module. The default.
	EngineGopherLua = "gopher-lua"
	// EngineLuaJIT runs in the luajit binary (Debian's luajit2 package,
	// OpenResty's branch), in a long-lived co-process per module
	// directory, so repeated runs (a fuzzing campaign) pay for the process
	// once. A hang is detected by counting VM instructions with a count
	// hook, with the JIT compiler off (compiled traces run no hooks):
	// StepLimit steps are StepLimit*LuaJITInstructionsPerStep
	// instructions. The order pairs() and next() walk a table is LuaJIT's
	// hash order, seeded per process: it can differ from one co-process
	// to the next, and Result.Order says which one this run met. The
	// memory limit does not apply; LuaJIT raises its own "not enough
	// memory".
	EngineLuaJIT = "luajit"
)

// LuaJITInstructionsPerStep converts a step limit into the LuaJIT engine's
// instruction limit.
const LuaJITInstructionsPerStep = 250

//go:embed luajit/driver.lua
var luajitDriver string

// ErrEngine is returned (wrapped) when the LuaJIT engine cannot run: no
// luajit binary, or the co-process failed.
var ErrEngine = errors.New("luacompat: lua engine")

type ljKey struct{ bin, dir string }

// ljProc is one luajit co-process running the driver over one directory.
type ljProc struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

var (
	ljMu    sync.Mutex
	ljProcs = map[ljKey]*ljProc{}
	// modelDir holds the built-in models as files, for the LuaJIT engine.
	modelDirOnce sync.Once
	modelDir     string
	modelDirErr  error
)

func startLuaJIT(bin, dir string) (*ljProc, error) {
	cmd := exec.Command(bin, "-e", luajitDriver)
	cmd.Env = append(os.Environ(), "SAFEWRR_LUAJIT_DIR="+dir)
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEngine, err)
	}
	return &ljProc{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<16)}, nil
}

func (p *ljProc) stop() {
	p.in.Close()
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	p.cmd.Wait()
}

// StopLuaJIT ends every LuaJIT co-process this process started. A later
// run with EngineLuaJIT starts a new one (with a new hash seed).
func StopLuaJIT() {
	ljMu.Lock()
	procs := ljProcs
	ljProcs = map[ljKey]*ljProc{}
	ljMu.Unlock()
	for _, p := range procs {
		p.mu.Lock()
		p.stop()
		p.mu.Unlock()
	}
}

func getLuaJIT(bin, dir string) (*ljProc, error) {
	ljMu.Lock()
	defer ljMu.Unlock()
	k := ljKey{bin, dir}
	if p, ok := ljProcs[k]; ok {
		return p, nil
	}
	p, err := startLuaJIT(bin, dir)
	if err != nil {
		return nil, err
	}
	ljProcs[k] = p
	return p, nil
}

func dropLuaJIT(bin, dir string, p *ljProc) {
	ljMu.Lock()
	if ljProcs[ljKey{bin, dir}] == p {
		delete(ljProcs, ljKey{bin, dir})
	}
	ljMu.Unlock()
	p.stop()
}

// runEngineLuaJIT is Run with EngineLuaJIT.
func runEngineLuaJIT(ctx context.Context, cfg Config, res *Result, start time.Time) error {
	bin, err := exec.LookPath("luajit")
	if err != nil {
		return fmt.Errorf("%w: luajit not found (Debian: apt-get install luajit2): %v", ErrEngine, err)
	}
	dir, module := cfg.LuaPath, cfg.Module
	if dir == "" {
		modelDirOnce.Do(func() {
			modelDir, modelDirErr = os.MkdirTemp("", "safewrr-models-")
			if modelDirErr == nil {
				modelDirErr = WriteModels(modelDir)
			}
		})
		if modelDirErr != nil {
			return fmt.Errorf("luacompat: %w", modelDirErr)
		}
		dir, module = modelDir, cfg.Model
	}
	if strings.ContainsAny(module, "\t\n\r") {
		return fmt.Errorf("luacompat: module name %q holds a tab or line break", module)
	}
	for _, e := range cfg.Nodes {
		if e.Weight.Kind == weights.KindAbsent {
			res.Dropped = append(res.Dropped, e.ID)
		}
	}
	req := fmt.Sprintf("%d\t%d\t%d\t%s\t%s\n", int64(cfg.StepLimit)*LuaJITInstructionsPerStep, cfg.Picks, cfg.Seed, module, FormatSpec(cfg.Nodes))

	p, err := getLuaJIT(bin, dir)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		if _, err := io.WriteString(p.in, req); err != nil {
			ch <- answer{err: err}
			return
		}
		line, err := p.out.ReadString('\n')
		ch <- answer{line, err}
	}()
	timer := time.NewTimer(time.Until(start.Add(cfg.Budget)))
	defer timer.Stop()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		dropLuaJIT(bin, dir, p)
		return fmt.Errorf("luacompat: run stopped: %w", ctx.Err())
	case <-timer.C:
		dropLuaJIT(bin, dir, p)
		res.Outcome, res.Phase = OutcomeHang, ""
		res.Message = fmt.Sprintf("still running when the %v wall-clock safety net ran out", cfg.Budget)
		res.Err = &LuaError{Message: "wall-clock safety net ran out", cause: errSafetyNet}
		return nil
	}
	if a.err != nil {
		dropLuaJIT(bin, dir, p)
		return fmt.Errorf("%w: luajit co-process: %v", ErrEngine, a.err)
	}
	return parseLuaJIT(strings.TrimSuffix(a.line, "\n"), res)
}

// parseLuaJIT reads one reply of the driver into res.
func parseLuaJIT(line string, res *Result) error {
	f := strings.SplitN(line, "\t", 7)
	if len(f) != 7 {
		return fmt.Errorf("%w: luajit driver replied %q", ErrEngine, line)
	}
	outcome, phase, order, picks, start, count, msg := f[0], f[1], f[2], f[3], f[4], f[5], f[6]
	if phase == "spec" || phase == "driver" {
		return fmt.Errorf("%w: luajit driver: %s", ErrEngine, msg)
	}
	var err error
	if res.Order, err = hexList(order); err != nil {
		return err
	}
	if res.Picks, err = hexList(picks); err != nil {
		return err
	}
	if res.Picks == nil {
		res.Picks = []string{}
	}
	if start != "" {
		if res.Start, err = decodeID(start); err != nil {
			return err
		}
	}
	if n, err := strconv.ParseInt(count, 10, 64); err == nil {
		res.Steps = int(n / LuaJITInstructionsPerStep)
	}
	res.Phase = Phase(phase)
	switch outcome {
	case "ok":
		res.Outcome = OutcomeOK
	case "hang":
		res.Outcome = OutcomeHang
		res.Message = msg
		res.Err = ErrStepLimit
	case "error":
		res.Outcome = OutcomeError
		res.Message = msg
		res.Err = &LuaError{Phase: res.Phase, Message: msg}
	default:
		return fmt.Errorf("%w: luajit driver replied %q", ErrEngine, line)
	}
	return nil
}

func hexList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]string, len(parts))
	for i, p := range parts {
		id, err := decodeID(p)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// decodeID reads an id the driver wrote with %XX escapes.
func decodeID(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("%w: luajit driver: bad escape in %q", ErrEngine, s)
		}
		v, err := hex.DecodeString(s[i+1 : i+3])
		if err != nil {
			return "", fmt.Errorf("%w: luajit driver: %v", ErrEngine, err)
		}
		b.WriteByte(v[0])
		i += 2
	}
	return b.String(), nil
}
