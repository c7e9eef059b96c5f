package core

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"

	"github.com/safewrr/safewrr/weights"
)

// Limits of a balancer script, so that every run is short whatever the input.
const (
	maxScriptOps   = 16  // operations per script
	maxScriptNodes = 32  // nodes per nodes/update line
	maxScriptPicks = 16  // picks per next line
	maxScriptIDLen = 16  // bytes per node id
	maxCycle       = 272 // longest cycle the cycle operation walks (twice): a two-byte table fleet's
	maxSeconds     = 1 << 20

	// A weight above maxShortWeight and below hugeWeight is read as
	// w|hugeWeight (see boundWeight).
	maxShortWeight = 1 << 6
	hugeWeight     = 1 << 24
)

// opKind is one operation of a balancer script.
type opKind uint8

const (
	opAlgo          opKind = iota + 1 // algo smooth|resty (applies to the next build)
	opStart                           // start I: resty find() starts after node I
	opRandomStart                     // random-start SEED
	opSlowStart                       // slowstart SECONDS
	opMaxEjected                      // max-ejected PERCENT
	opMaxWeightDrop                   // max-weight-drop PERCENT
	opNodes                           // nodes ID=W ...: build a new balancer
	opUpdate                          // update ID=W ...
	opNext                            // next [N]
	opNextExcluding                   // next-excluding ID ...
	opEject                           // eject ID SECONDS
	opRestore                         // restore ID
	opAdvance                         // advance SECONDS
	opCycle                           // cycle: two full cycles, period and counts checked
	opFleet                           // fleet COUNT PATTERN: build a balancer of many nodes (see fleetNodes)
)

var opNames = map[string]opKind{
	"algo":            opAlgo,
	"start":           opStart,
	"random-start":    opRandomStart,
	"slowstart":       opSlowStart,
	"max-ejected":     opMaxEjected,
	"max-weight-drop": opMaxWeightDrop,
	"nodes":           opNodes,
	"update":          opUpdate,
	"next":            opNext,
	"next-excluding":  opNextExcluding,
	"eject":           opEject,
	"restore":         opRestore,
	"advance":         opAdvance,
	"cycle":           opCycle,
	"fleet":           opFleet,
}

// op is one parsed script line.
type op struct {
	kind  opKind
	word  string         // algo name
	n     int            // count, index, seconds or percent
	nodes []weights.Node // nodes, update
	ids   []string       // next-excluding, eject, restore
}

// parseScript reads a balancer script: one operation per line, words
// separated by spaces, '#' starts a comment. It never fails: unknown lines
// and malformed words are skipped, numbers are clamped, and the script is cut
// at maxScriptOps operations, so any bytes are a (possibly empty) script.
//
//	algo smooth|resty      nodes a=5 b=1 c=0    next 7
//	start 1                update a=5 b=2       next-excluding a b
//	random-start 42        eject a 30           cycle
//	slowstart 20           restore a
//	max-ejected 50         advance 31             fleet 4 7
//	max-weight-drop 50
func parseScript(data []byte) []op {
	ops := make([]op, 0, min(bytes.Count(data, newline)+1, maxScriptOps))
	text := string(data)
	var buf [1 + maxScriptNodes]string // the words of one line, at most as many as are read
	for len(text) > 0 && len(ops) < maxScriptOps {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		// The first word says whether the line is an operation; only
		// then is the rest split.
		first := fields(buf[:0:1], line)
		if len(first) == 0 {
			continue
		}
		kind, ok := opNames[first[0]]
		if !ok {
			continue
		}
		words := fields(buf[:0], line)
		o := op{kind: kind}
		args := words[1:]
		switch kind {
		case opAlgo:
			if len(args) > 0 {
				o.word = args[0]
			}
		case opStart, opRandomStart, opSlowStart, opMaxEjected, opMaxWeightDrop, opAdvance:
			o.n = number(args, 0, 0)
		case opFleet:
			o.nodes = fleetNodes(number(args, 0, 0), number(args, 1, 0))
		case opNext:
			o.n = min(number(args, 0, 1), maxScriptPicks)
		case opNodes, opUpdate:
			if len(args) > 0 {
				o.nodes = make([]weights.Node, len(args))
				for i, a := range args {
					o.nodes[i] = parseNode(a)
				}
			}
		case opNextExcluding, opRestore:
			o.ids = clampIDs(args)
		case opEject:
			if len(args) == 0 {
				continue
			}
			o.ids = clampIDs(args[:1])
			o.n = number(args, 1, 0)
		}
		ops = append(ops, o)
	}
	return ops
}

var newline = []byte{'\n'}

// fields appends to words the space-separated words of line, as
// strings.Fields splits them, up to cap(words): the words past that are
// never read (a line names at most maxScriptNodes nodes or ids). The
// scanning is the standard library's, which a libFuzzer build leaves
// uninstrumented: a comparison hook per byte of a script costs more than
// the script's balancer calls.
func fields(words []string, line string) []string {
	for len(words) < cap(words) {
		i := strings.IndexFunc(line, notSpace)
		if i < 0 {
			break
		}
		line = line[i:]
		j := strings.IndexFunc(line, unicode.IsSpace)
		if j < 0 {
			return append(words, line)
		}
		words, line = append(words, line[:j]), line[j:]
	}
	return words
}

func notSpace(r rune) bool { return !unicode.IsSpace(r) }

// parseNode reads ID=W (W an unsigned 32-bit integer, through boundWeight; a bad or missing weight
// is 1).
func parseNode(word string) weights.Node {
	id, w, found := strings.Cut(word, "=")
	n := weights.Node{ID: clampID(id), Weight: 1}
	if found {
		if v, err := strconv.ParseUint(w, 10, 32); err == nil {
			n.Weight = boundWeight(uint32(v))
		}
	}
	return n
}

// boundWeight bounds what one node set costs to build without losing a
// kind of schedule. A build walks an exact cycle of total weight / gcd
// picks when that fits the balancer's table (256 Ki entries) and describes
// longer cycles without walking them (the row and spread schedules). Short
// weights (up to maxShortWeight, 32 nodes of them: cycles of at most 2,048)
// give the exact kind, huge ones (from hugeWeight = 2^24 up) the long kinds:
// beside any short weight the gcd is at most 64, so the cycle is longer
// than 2^24 / 64 = 256 Ki picks, more than a table holds. A weight in
// between is read as w|hugeWeight. Such weights only made exact cycles of
// up to hundreds of thousands of picks: the same code as short cycles at up
// to a thousand times the cost per build (under libFuzzer's comparison
// hooks, milliseconds per input).
func boundWeight(w uint32) uint32 {
	if w > maxShortWeight && w < hugeWeight {
		return w | hugeWeight
	}
	return w
}

// number returns args[i] as a non-negative integer no larger than
// maxSeconds, or def when it is missing or not a number.
func number(args []string, i, def int) int {
	if i >= len(args) {
		return def
	}
	v, err := strconv.Atoi(args[i])
	if err != nil || v < 0 {
		return def
	}
	return min(v, maxSeconds)
}

// Fleets: node sets too large to write out, so that every kind of
// schedule is reachable. A fleet holds fleetBase + COUNT mod 8 nodes: more
// than 256, so that a table schedule takes two bytes per entry (one byte is
// what smaller sets get) and a cycle longer than 128 Ki picks is too long
// for one. PATTERN 0 gives them weight 1: an exact cycle in a two-byte
// table. Any other PATTERN gives the rows schedule: the first 12 nodes (the
// ones the compact form names) weigh 1 + (i × step mod 512), step =
// 2×PATTERN - 1, the others 524 to 555 (524 + their place mod 32): the gcd
// is 1, the heaviest weight is one of the others and far below the rows
// schedule's 16,384, and the cycle is longer than a two-byte table of 256
// KiB holds, even with every named node ejected or drained (the other 245
// or more weigh 131,072 or more). A rows build's work grows with the
// heaviest weight and a fleet's per-operation work with the node count:
// above 256 nodes the rows schedule starts at a cycle half as long as
// below, so the heaviest weight is about 550 (100 nodes would need about
// 3,000; 36 about 12,000). (A huge weight among a few nodes gives the
// spread schedule.) The named nodes are n00 ... n11, so that the compact
// form's other operations name them, the others o012, o013, ...: in the
// order of their ids, which New reads in one pass instead of a sort. Table schedules of four bytes per entry need more than
// 65,536 nodes, a build too slow for fuzzing: they are left to the
// balancer's own tests.
const (
	fleetBase   = 257 // nodes of a fleet, at least
	fleetNamed  = 12  // the first nodes of a fleet, the ones binaryIDs names
	namedSpread = 512 // named nodes weigh 1 to namedSpread
	otherWeight = 524 // the other nodes weigh otherWeight + (place mod 32)
)

// fleetNodes returns the fleet of the given count and pattern, to be read
// only: each of the 8 × 256 fleets is built once, since a campaign decodes
// the same few again and again.
func fleetNodes(count, pattern int) []weights.Node {
	count, pattern = count%8, pattern%256
	slot := &fleets[count][pattern]
	if nodes := slot.Load(); nodes != nil {
		return *nodes
	}
	nodes := makeFleet(count, pattern)
	slot.Store(&nodes)
	return nodes
}

var fleets [8][256]atomic.Pointer[[]weights.Node]

// makeFleet builds the fleet of count (0-7) and pattern (0-255).
func makeFleet(count, pattern int) []weights.Node {
	nodes := make([]weights.Node, fleetBase+count)
	step := 2*pattern - 1
	for i := range nodes {
		nodes[i] = weights.Node{ID: fleetIDs[i], Weight: 1}
		switch {
		case pattern == 0:
		case i < fleetNamed:
			nodes[i].Weight = uint32(1 + i*step%namedSpread)
		default:
			nodes[i].Weight = uint32(otherWeight + i%32)
		}
	}
	return nodes
}

// fleetIDs are the ids of the largest fleet, built once, and fleetIndex
// their places.
var fleetIDs, fleetIndex = func() ([]string, map[string]int) {
	ids := make([]string, fleetBase+7)
	index := make(map[string]int, len(ids))
	for i := range ids {
		ids[i] = fmt.Sprintf("n%02d", i)
		if i >= fleetNamed {
			ids[i] = fmt.Sprintf("o%03d", i)
		}
		index[ids[i]] = i
	}
	return ids, index
}()

func clampIDs(ids []string) []string {
	if len(ids) > maxScriptNodes {
		ids = ids[:maxScriptNodes]
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = clampID(id)
	}
	return out
}

func clampID(id string) string {
	if len(id) > maxScriptIDLen {
		return id[:maxScriptIDLen]
	}
	return id
}
