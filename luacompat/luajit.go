package luacompat

import (
	"bufio"
	"context"
	"crypto/rand"
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
	// memory limit is the growth of the Lua heap, checked by the count
	// hook; the co-process's address space is limited too, where LuaJIT
	// raises "not enough memory". Work inside one C function is not
	// counted: Config.Budget stops it, a hang in the phase it was in.
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

// errCPULimit is the cause of a hang the co-process's CPU time limit
// stopped (a run the wall clock would have stopped a little later).
var errCPULimit = fmt.Errorf("luacompat: the luajit co-process's CPU time limit: %w", context.DeadlineExceeded)

// Resource limits of the co-process (see limitLuaJIT): its address space
// is the run's memory limit four times over plus this much.
const luajitAddressSpace = 256 << 20

type ljKey struct{ bin, dir string }

// ljProc is one luajit co-process running the driver. Requests and module
// sources go to its stdin; its replies come from a pipe of their own, its
// file descriptor 3, which the module cannot reach.
type ljProc struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	outFile *os.File
	stderr  *tailBuffer
	limits  ljLimits
}

// ljLimits are the resource limits last set on a co-process.
type ljLimits struct {
	as, cpu        uint64
	asMax, cpuMax  uint64 // the hard limits, read at start
	known, applied bool
}

var (
	ljMu    sync.Mutex
	ljProcs = map[ljKey]*ljProc{}
)

func startLuaJIT(bin string) (*ljProc, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEngine, err)
	}
	// -joff: compiled traces would run no count hook. An empty
	// environment: no LUA_INIT, no LUA_PATH, nothing of the caller's.
	cmd := exec.Command(bin, "-joff", "-e", luajitDriver)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = luajitProcAttr()
	tail := &tailBuffer{max: 4096}
	cmd.Stderr = tail
	in, err := cmd.StdinPipe()
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%w: %v", ErrEngine, err)
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%w: %v", ErrEngine, err)
	}
	w.Close()
	p := &ljProc{cmd: cmd, in: in, out: bufio.NewReaderSize(r, 1<<16), outFile: r, stderr: tail}
	if err := limitLuaJITStart(cmd.Process.Pid, &p.limits); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w: limiting the luajit co-process: %v", ErrEngine, err)
	}
	return p, nil
}

// stop kills the co-process's whole process group and waits for it.
func (p *ljProc) stop() {
	p.in.Close()
	if p.cmd.Process != nil {
		killGroup(p.cmd.Process.Pid)
		p.cmd.Process.Kill()
	}
	p.cmd.Wait()
	p.outFile.Close()
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
	p, err := startLuaJIT(bin)
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
		module = cfg.Model // served from the embedded sources
	}
	if strings.ContainsAny(module, "\t\n\r") {
		return fmt.Errorf("luacompat: module name %q holds a tab or line break", module)
	}
	for _, e := range cfg.Nodes {
		if e.Weight.Kind == weights.KindAbsent {
			res.Dropped = append(res.Dropped, e.ID)
		}
	}
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrEngine, err)
	}
	nonce := hex.EncodeToString(nb[:])
	req := fmt.Sprintf("R\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", nonce,
		int64(cfg.StepLimit)*LuaJITInstructionsPerStep, cfg.Picks, cfg.Seed, cfg.MemoryLimit>>10,
		maxOrder(cfg), MaxIDLength, MaxPickBytes, MaxMessageLength, module, FormatSpec(cfg.Nodes))

	p, err := getLuaJIT(bin, dir)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := limitLuaJITRun(p.cmd.Process.Pid, &p.limits, cfg); err != nil {
		dropLuaJIT(bin, dir, p)
		return fmt.Errorf("%w: limiting the luajit co-process: %v", ErrEngine, err)
	}
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	var mu sync.Mutex
	phase := PhaseLoad
	go func() {
		line, err := p.converse(req, nonce, dir, cfg.MaxFileSize, maxReplyLine(cfg), func(ph Phase) {
			mu.Lock()
			phase = ph
			mu.Unlock()
		})
		ch <- answer{line, err}
	}()
	lastPhase := func() Phase {
		mu.Lock()
		defer mu.Unlock()
		return phase
	}
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
		<-ch
		ph := lastPhase()
		res.Outcome, res.Phase = OutcomeHang, ph
		res.Message = fmt.Sprintf("still running when the %v wall-clock safety net ran out", cfg.Budget)
		res.Err = &LuaError{Phase: ph, Message: "wall-clock safety net ran out", cause: errSafetyNet}
		return nil
	}
	if a.err != nil {
		dropLuaJIT(bin, dir, p)
		if killedByCPULimit(p.cmd.ProcessState) {
			ph := lastPhase()
			res.Outcome, res.Phase = OutcomeHang, ph
			res.Message = "still running when the co-process's CPU time limit ran out"
			res.Err = &LuaError{Phase: ph, Message: "CPU time limit ran out", cause: errCPULimit}
			return nil
		}
		return fmt.Errorf("%w: luajit co-process: %v%s", ErrEngine, a.err, p.stderr.suffix())
	}
	return parseLuaJIT(a.line, res)
}

// maxReplyLine bounds one line from the driver: the picks and the order
// with every byte escaped, and room for the rest.
func maxReplyLine(cfg Config) int {
	return 3*MaxPickBytes + 3*maxOrder(cfg)*(MaxIDLength+1) + 4*MaxMessageLength + 1<<16
}

// converse sends one request and answers the driver until its verdict:
// phase messages go to setPhase, module requests are served from dir (or
// the embedded models when dir is empty). It returns the verdict's fields.
func (p *ljProc) converse(req, nonce, dir string, maxFile int64, maxLine int, setPhase func(Phase)) (string, error) {
	if _, err := io.WriteString(p.in, req); err != nil {
		return "", err
	}
	for {
		line, err := readLine(p.out, maxLine)
		if err != nil {
			return "", err
		}
		kind, rest, _ := strings.Cut(line, "\t")
		n, rest, _ := strings.Cut(rest, "\t")
		if n != nonce {
			return "", fmt.Errorf("a reply without the run's nonce: %.80q", line)
		}
		switch kind {
		case "P":
			setPhase(Phase(rest))
		case "Q":
			name, err := decodeID(rest)
			if err != nil {
				return "", err
			}
			if _, err := io.WriteString(p.in, serveModule(nonce, dir, name, maxFile)); err != nil {
				return "", err
			}
		case "V":
			return rest, nil
		default:
			return "", fmt.Errorf("an unknown reply: %.80q", line)
		}
	}
}

// serveModule answers the driver's require of name: the source of
// dir/a/b/c.lua or dir/a/b/c/init.lua, under the rules of the gopher-lua
// loader (inside dir, regular, small, source), or why not.
func serveModule(nonce, dir, name string, maxFile int64) string {
	if dir == "" {
		src, err := ModelSource(name)
		if err != nil {
			return "N\t" + nonce + "\t" + encodeID("\n\tno built-in model '"+name+"'") + "\n"
		}
		return fmt.Sprintf("M\t%s\t%d\t%s\n%s", nonce, len(src), encodeID(name+".lua"), src)
	}
	src, full, missing, err := locateModule(dir, name, func(full string) ([]byte, error) {
		return readModuleSource(dir, full, maxFile)
	})
	switch {
	case err != nil:
		return "E\t" + nonce + "\t" + encodeID(fmt.Sprintf("error loading module '%s' from file '%s':\n\t%v", name, full, err)) + "\n"
	case missing != "":
		return "N\t" + nonce + "\t" + encodeID(missing) + "\n"
	}
	return fmt.Sprintf("M\t%s\t%d\t%s\n%s", nonce, len(src), encodeID(full), src)
}

// readLine reads a line of at most max bytes, without its newline.
func readLine(r *bufio.Reader, max int) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return string(buf[:len(buf)-1]), nil
		case err != bufio.ErrBufferFull:
			return "", err
		case len(buf) > max:
			return "", fmt.Errorf("a reply longer than %d bytes", max)
		}
	}
}

// encodeID writes '%', ',', tab, CR, LF and NUL as %XX, as the driver does.
func encodeID(s string) string {
	if !strings.ContainsAny(s, "%,\t\r\n\x00") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%', ',', '\t', '\r', '\n', 0:
			fmt.Fprintf(&b, "%%%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written to it (the co-process's
// stderr, for the message of an engine error).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) == 0 {
		return ""
	}
	return " (stderr: " + strings.TrimSpace(string(t.b)) + ")"
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
		if strings.HasPrefix(msg, memoryLimitMsg[len("safewrr: "):]) {
			res.Err = ErrMemoryLimit
		}
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
