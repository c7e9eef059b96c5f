package core

import "github.com/safewrr/safewrr/weights"

// A balancer script has a second, compact form for fuzzing engines that
// start from nothing: random bytes rarely spell "nodes" or "cycle", so a
// campaign from an empty corpus would spend its time on lines parseScript
// skips. Any input that does not start like a text script (a letter, '#' or
// white space) is read as bytes: one byte picks the operation (modulo the
// number of operations), the next bytes are its arguments, and an input cut
// short reads as zeros. Ids come from a small set ("n00" ... "n11", and the
// empty id, which New and Update must refuse), so that ejections, exclusions
// and updates name nodes that exist: a node set's id byte below 192 names
// the node by its place (the i-th node is "n0i", then "n10", "n11"), so
// that most sets hold n00, n01, ... in order, sorted by id as a registry
// might send them, and an operation on a node reaches its neighbours; from
// 192 it names any id of the set (duplicates and the empty id included).
// The other operations name a node of the last set built or updated (or
// the one after its last: not a member) with an id byte below 240, and any
// id from 240 on, so that most of their calls reach a member.

// binaryIDs is the id space of a compact script; the last one is invalid.
var binaryIDs = [...]string{"n00", "n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08", "n09", "n10", "n11", ""}

// binaryWeights are the weights a compact script reaches from the bytes
// 240-255: larger short weights, and huge ones (see boundWeight) that make
// short cycles among themselves (1<<24 and 3<<24: four picks) or long ones
// (the others, with gcds too small for a table). Few bytes reach the huge
// ones: a build that describes a long cycle costs more than one that walks a
// short one (it searches for a spreading step), and one huge node in a set
// is enough to get that kind of schedule.
var binaryWeights = [...]uint32{12, 16, 20, 24, 30, 32, 48, 60, 63, 64,
	1 << 24, 3 << 24, 1<<24 + 1, 1_000_000_000, 1<<32 - 5, 1<<32 - 1}

// isTextScript reports whether data is a text script (see parseScript).
func isTextScript(data []byte) bool {
	return len(data) == 0 || textStart[data[0]]
}

// textStart marks the bytes a text script starts with: a letter, '#' and
// white space (a table: under libFuzzer each comparison calls a hook).
var textStart = func() (t [256]bool) {
	for _, c := range "# \t\n\r" {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	return t
}()

// decodeScript reads data as a text script or, when it does not start like
// one, as a compact one.
func decodeScript(data []byte) []op {
	if isTextScript(data) {
		return parseScript(data)
	}
	return binaryScript(data)
}

// binaryScript reads the compact form of a balancer script. Like
// parseScript it never fails and stops at maxScriptOps operations.
func binaryScript(data []byte) []op {
	ops := make([]op, 0, min(len(data)/2+1, maxScriptOps))
	span := len(binaryIDs) // ids the operations name: the last set's and one more
	var last []string      // the ids the last ejection named
	for len(data) > 0 && len(ops) < maxScriptOps {
		kind := opKind(data[0]%uint8(opFleet) + 1)
		data = data[1:]
		o := op{kind: kind}
		arg := func() int {
			if len(data) == 0 {
				return 0 // an input cut short reads as zeros
			}
			b := data[0]
			data = data[1:]
			return int(b)
		}
		place := func() int {
			b := arg()
			if b < 240 {
				return b % span
			}
			return b % len(binaryIDs)
		}
		id := func() string { return binaryIDs[place()] }
		switch kind {
		case opAlgo:
			o.word = [2]string{"smooth", "resty"}[arg()&1]
		case opStart, opRandomStart, opSlowStart, opAdvance:
			o.n = arg()
		case opMaxEjected, opMaxWeightDrop:
			o.n = arg() % 101
		case opNext:
			o.n = arg()%maxScriptPicks + 1
		case opNodes, opUpdate:
			n := arg() % 9
			o.nodes = make([]weights.Node, n)
			for i := range o.nodes {
				nid := binaryIDs[i]
				if b := arg(); b >= 192 {
					nid = binaryIDs[b%len(binaryIDs)]
				}
				o.nodes[i] = weights.Node{ID: nid, Weight: binaryWeight(arg())}
			}
			span = min(n, len(binaryIDs)-1) + 1
		case opNextExcluding:
			o.ids = make([]string, arg()%5)
			for i := range o.ids {
				o.ids[i] = id()
			}
		case opRestore, opEject:
			// Each names up to four nodes (ejections and restores one
			// after another), so that operations on several nodes at
			// once are as likely as on one. The count byte's bit 4 names
			// a run of neighbours (a node and the ones after it in the
			// set), and its bit 8 the nodes the last ejection named, in
			// its order: ejecting a run and then restoring it, or part
			// of it, takes two operations whatever the nodes.
			b := arg()
			switch {
			case b&8 != 0 && last != nil:
				o.ids = last
			case b&4 != 0:
				first := place()
				o.ids = make([]string, b%4+1)
				for i := range o.ids {
					o.ids[i] = binaryIDs[(first+i)%span]
				}
			default:
				o.ids = make([]string, b%4+1)
				for i := range o.ids {
					o.ids[i] = id()
				}
			}
			if kind == opEject {
				o.n = arg()
				last = o.ids
			}
		case opFleet:
			// A fleet's build costs tens of times a small set's (under
			// libFuzzer most of a campaign's time when every input may
			// hold one): the compact form builds one only when its first
			// byte is 240 or more, and reads the operation as nothing
			// otherwise.
			if arg() >= 240 {
				o.nodes = fleetNodes(arg(), arg())
				span = len(binaryIDs)
			}
		}
		ops = append(ops, o)
	}
	return ops
}

// binaryWeight maps one byte to a weight: 0-10 below 240, one of
// binaryWeights from there.
func binaryWeight(b int) uint32 {
	if b >= 256-len(binaryWeights) {
		return binaryWeights[b-(256-len(binaryWeights))]
	}
	return uint32(b % 11)
}

// take removes n bytes from the front of *data, padding with zeros when the
// input is shorter.
func take(data *[]byte, n int) []byte {
	if len(*data) >= n {
		b := (*data)[:n]
		*data = (*data)[n:]
		return b
	}
	b := make([]byte, n)
	copy(b, *data)
	*data = nil
	return b
}
