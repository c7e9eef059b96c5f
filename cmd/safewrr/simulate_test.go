package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// simResult is the part of "simulate --json" the tests read.
type simResult struct {
	Format            string             `json:"format"`
	Algo              string             `json:"algo"`
	Picks             int                `json:"picks"`
	Requested         int                `json:"requested"`
	Cycle             uint64             `json:"cycle"`
	Sequence          []string           `json:"sequence"`
	SequenceTruncated bool               `json:"sequence_truncated"`
	Counts            map[string]int     `json:"counts"`
	Ideal             map[string]float64 `json:"ideal"`
	Nodes             []struct {
		ID        string  `json:"id"`
		Weight    uint32  `json:"weight"`
		State     string  `json:"state"`
		Picks     int     `json:"picks"`
		Ideal     float64 `json:"ideal"`
		Deviation float64 `json:"deviation"`
	} `json:"nodes"`
	Rejected []struct {
		Index   int    `json:"index"`
		ID      string `json:"id"`
		Reason  string `json:"reason"`
		Raw     string `json:"raw"`
		Message string `json:"message"`
	} `json:"rejected"`
	Error string `json:"error"`
}

func simulateJSON(t *testing.T, wantCode int, args ...string) simResult {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"simulate", "--json"}, args...)...)
	if code != wantCode {
		t.Fatalf("simulate %v: exit %d want %d; stderr:\n%s", args, code, wantCode, errOut)
	}
	var r simResult
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("simulate %v: output is not the documented JSON: %v\n%s", args, err, out)
	}
	if dec.More() {
		t.Fatalf("simulate %v: more than one JSON value:\n%s", args, out)
	}
	return r
}

// nginxSmoothRef is nginx's smooth weighted round robin written out plainly.
func nginxSmoothRef(ids []string, w []int, picks int) []string {
	cur := make([]int, len(w))
	total := 0
	for _, x := range w {
		total += x
	}
	var seq []string
	for range picks {
		best := -1
		for i := range w {
			if w[i] == 0 {
				continue
			}
			cur[i] += w[i]
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		seq = append(seq, ids[best])
	}
	return seq
}

func TestSimulateSmoothIsNginx(t *testing.T) {
	r := simulateJSON(t, exitOK, "--nodes", `{"a":5,"b":1,"c":1}`, "--picks", "7")
	if want := []string{"a", "a", "b", "a", "c", "a", "a"}; !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("sequence = %v want %v", r.Sequence, want)
	}
	if want := map[string]int{"a": 5, "b": 1, "c": 1}; !reflect.DeepEqual(r.Counts, want) {
		t.Errorf("counts = %v want %v", r.Counts, want)
	}
	if r.Algo != "smooth" || r.Picks != 7 || r.Cycle != 7 || r.SequenceTruncated {
		t.Errorf("algo %q picks %d cycle %d truncated %v; want smooth 7 7 false", r.Algo, r.Picks, r.Cycle, r.SequenceTruncated)
	}

	// A larger set against the reference, over two cycles.
	ids := []string{"n0", "n1", "n2", "n3", "n4", "n5"}
	w := []int{3, 0, 7, 1, 4, 2}
	var spec strings.Builder
	spec.WriteString("{")
	for i := range ids {
		if i > 0 {
			spec.WriteString(",")
		}
		spec.WriteString(strconv.Quote(ids[i]) + ":" + strconv.Itoa(w[i]))
	}
	spec.WriteString("}")
	r = simulateJSON(t, exitOK, "--nodes", spec.String(), "--picks", "34")
	if want := nginxSmoothRef(ids, w, 34); !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("sequence = %v\nwant       %v", r.Sequence, want)
	}
	for i, id := range ids {
		if r.Counts[id] != 2*w[i] {
			t.Errorf("counts[%s] = %d want %d (two cycles of weight %d)", id, r.Counts[id], 2*w[i], w[i])
		}
	}
}

func TestSimulateLuaSpec(t *testing.T) {
	r := simulateJSON(t, exitOK, "--nodes", `{a=5, b=1, c=1}`, "--picks", "7")
	if want := []string{"a", "a", "b", "a", "c", "a", "a"}; !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("sequence = %v want %v", r.Sequence, want)
	}
	// Values only Lua can carry: NaN and infinity are rejected with reasons.
	r = simulateJSON(t, exitOK, "--nodes", `{a=5, b="0", c=0/0, d=1/0, e=1}`, "--picks", "6")
	reasons := map[string]string{}
	for _, rej := range r.Rejected {
		reasons[rej.ID] = rej.Reason
	}
	if want := map[string]string{"b": "string-zero", "c": "nan", "d": "infinite"}; !reflect.DeepEqual(reasons, want) {
		t.Errorf("rejected = %v want %v", reasons, want)
	}
	if want := map[string]int{"a": 5, "e": 1}; !reflect.DeepEqual(r.Counts, want) {
		t.Errorf("counts = %v want %v", r.Counts, want)
	}
}

func TestSimulateJSONKeys(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		code       int
		extra      string // a key present only in this case
	}{
		{"ok", `{"a":1}`, exitOK, ""},
		{"no node", `{"a":0}`, exitRejected, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := runCLI(t, "simulate", "--json", "--nodes", tc.spec, "--picks", "2")
			if code != tc.code {
				t.Fatalf("exit %d want %d", code, tc.code)
			}
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &top); err != nil {
				t.Fatal(err)
			}
			want := []string{"algo", "counts", "cycle", "format", "ideal", "nodes", "picks", "rejected", "requested", "sequence", "sequence_truncated"}
			if tc.extra != "" {
				want = append(want, tc.extra)
			}
			var got []string
			for k := range top {
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("keys %v want %v", got, want)
			}
			for _, k := range []string{"sequence", "rejected", "nodes"} {
				if string(top[k]) == "null" {
					t.Errorf("%s is null; an empty list must be []", k)
				}
			}
		})
	}
}

func TestSimulateText(t *testing.T) {
	code, out, errOut := runCLI(t, "simulate", "--nodes", `{"a":5,"b":1,"c":1}`, "--picks", "7")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"a a b a c a a",
		"one cycle is 7 picks",
		"histogram",
		"#####", // a's bar
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The counts table: node, weight, picks, ideal.
	if !regexpLine(out, "a", "5", "5", "5.00") {
		t.Errorf("no counts row for a with weight 5, 5 picks, ideal 5.00:\n%s", out)
	}
}

// regexpLine reports whether some line's first fields are exactly fields.
func regexpLine(out string, fields ...string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(fields) && reflect.DeepEqual(f[:len(fields)], fields) {
			return true
		}
	}
	return false
}

func TestSimulateTextQuotesOddIDs(t *testing.T) {
	// Control characters are rejected in every id; a space or a line
	// separator inside one is not, and is quoted.
	code, out, _ := runCLI(t, "simulate", "--nodes", `{"a b":1,"c\u2028d":1,"e":1}`, "--picks", "3")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, `"a b" "c\u2028d" e`) {
		t.Errorf("ids with a space or a line separator should be quoted in the sequence:\n%s", out)
	}
	if !regexpLine(out, `"c\u2028d"`, "1", "1") {
		t.Errorf("no quoted counts row for c\\u2028d:\n%s", out)
	}
}

func TestSimulateLongSequenceIsAbbreviated(t *testing.T) {
	code, out, _ := runCLI(t, "simulate", "--nodes", `{"a":2,"b":1}`, "--picks", "3000")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "2880 picks not shown") {
		t.Errorf("a 3000-pick sequence should show 100 + 20 picks and say 2880 are not shown:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 60 {
		t.Errorf("output has %d lines; an abbreviated run should be short", n)
	}
	if !regexpLine(out, "a", "2", "2000", "2000.00") || !regexpLine(out, "b", "1", "1000", "1000.00") {
		t.Errorf("counts rows wrong:\n%s", out)
	}
}

func TestSimulateManyNodesText(t *testing.T) {
	var spec strings.Builder
	spec.WriteString("{")
	for i := range 45 {
		if i > 0 {
			spec.WriteString(",")
		}
		spec.WriteString(`"n` + strconv.Itoa(i) + `":` + strconv.Itoa(i%7+1))
	}
	spec.WriteString("}")
	code, out, _ := runCLI(t, "simulate", "--nodes", spec.String(), "--picks", "100")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Count(out, "5 more nodes not shown") != 2 {
		t.Errorf("the counts table and the histogram should each say 5 more nodes are not shown:\n%s", out)
	}
	if regexpLine(out, "n44", "3") || !regexpLine(out, "n39", "5") {
		t.Errorf("the text should list n0..n39 and not n44:\n%s", out)
	}
	if !strings.Contains(out, "largest deviation from the ideal: ") {
		t.Errorf("no largest-deviation line:\n%s", out)
	}
	r := simulateJSON(t, exitOK, "--nodes", spec.String(), "--picks", "100")
	if len(r.Counts) != 45 || len(r.Nodes) != 45 {
		t.Errorf("--json lists %d counts and %d nodes, want all 45", len(r.Counts), len(r.Nodes))
	}
}

func TestSimulateRejectedAndDrained(t *testing.T) {
	r := simulateJSON(t, exitOK, "--nodes", `{"a":5,"b":"0","c":0,"d":2}`, "--picks", "14")
	if len(r.Rejected) != 1 || r.Rejected[0].ID != "b" || r.Rejected[0].Reason != "string-zero" || r.Rejected[0].Raw != `"0"` || r.Rejected[0].Index != 1 {
		t.Errorf("rejected = %+v; want b (#1) string-zero raw \"0\"", r.Rejected)
	}
	if want := map[string]int{"a": 10, "c": 0, "d": 4}; !reflect.DeepEqual(r.Counts, want) {
		t.Errorf("counts = %v want %v (drained c listed with 0)", r.Counts, want)
	}
	if want := map[string]float64{"a": 10, "c": 0, "d": 4}; !reflect.DeepEqual(r.Ideal, want) {
		t.Errorf("ideal = %v want %v", r.Ideal, want)
	}
	for _, n := range r.Nodes {
		if want := map[string]string{"a": "serving", "c": "drained", "d": "serving"}[n.ID]; n.State != want {
			t.Errorf("node %s state %q want %q", n.ID, n.State, want)
		}
	}
	for _, id := range r.Sequence {
		if id == "b" || id == "c" {
			t.Fatalf("sequence picks %s: %v", id, r.Sequence)
		}
	}

	code, out, _ := runCLI(t, "simulate", "--nodes", `{"a":5,"b":"0","c":0,"d":2}`, "--picks", "14")
	if code != exitOK || !strings.Contains(out, "string-zero") || !strings.Contains(out, "drained") {
		t.Errorf("text output should list b as string-zero and c as drained (exit %d):\n%s", code, out)
	}
}

func TestSimulateNoUsableNode(t *testing.T) {
	for _, tc := range []struct{ name, spec string }{
		{"all drained", `{"a":0,"b":0}`},
		{"all rejected", `{"a":"0","b":"NaN"}`},
		{"empty", `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := simulateJSON(t, exitRejected, "--nodes", tc.spec, "--picks", "5")
			if r.Error == "" || len(r.Sequence) != 0 || r.Picks != 0 || r.Requested != 5 {
				t.Errorf("want an error, no sequence, 0 of 5 picks; got error %q sequence %v, %d of %d picks", r.Error, r.Sequence, r.Picks, r.Requested)
			}
			code, out, _ := runCLI(t, "simulate", "--nodes", tc.spec, "--picks", "5")
			if code != exitRejected || !strings.Contains(out, "no picks") {
				t.Errorf("text: exit %d, want %d and \"no picks\":\n%s", code, exitRejected, out)
			}
		})
	}
}

func TestSimulateResty(t *testing.T) {
	// resty.roundrobin with the state after the last node: the first scan
	// starts at a with the current weight at 4, then 3, 2, 1 (a a a a),
	// b and c at 1, then the weight wraps to 5 (a).
	r := simulateJSON(t, exitOK, "--nodes", `{"a":5,"b":1,"c":1}`, "--algo", "resty", "--picks", "7")
	if want := []string{"a", "a", "a", "a", "b", "c", "a"}; !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("resty sequence = %v want %v", r.Sequence, want)
	}
	// a=1, b=2 from the default state (after the last node): the weight
	// drops to 1 before the first scan (a b), wraps to 2 (b), and so on.
	r = simulateJSON(t, exitOK, "--nodes", `{"a":1,"b":2}`, "--algo", "resty", "--picks", "6")
	if want := []string{"a", "b", "b", "a", "b", "b"}; !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("resty sequence = %v want %v", r.Sequence, want)
	}
	// Starting after a: the first scan finds b at the maximum weight.
	r = simulateJSON(t, exitOK, "--nodes", `{"a":1,"b":2}`, "--algo", "resty", "--start", "0", "--picks", "6")
	if want := []string{"b", "a", "b", "b", "a", "b"}; !reflect.DeepEqual(r.Sequence, want) {
		t.Errorf("resty --start 0 sequence = %v want %v", r.Sequence, want)
	}
	if want := map[string]int{"a": 2, "b": 4}; !reflect.DeepEqual(r.Counts, want) {
		t.Errorf("counts = %v want %v", r.Counts, want)
	}
}

func TestSimulateSeedKeepsProportions(t *testing.T) {
	for _, algo := range []string{"smooth", "resty"} {
		t.Run(algo, func(t *testing.T) {
			spec := `{"a":6,"b":3,"c":0,"d":9}` // gcd 3: a cycle is 6 picks
			r1 := simulateJSON(t, exitOK, "--nodes", spec, "--algo", algo, "--seed", "42", "--picks", "12")
			r2 := simulateJSON(t, exitOK, "--nodes", spec, "--algo", algo, "--seed", "42", "--picks", "12")
			if !reflect.DeepEqual(r1.Sequence, r2.Sequence) {
				t.Errorf("same seed, different sequences: %v and %v", r1.Sequence, r2.Sequence)
			}
			if r1.Cycle != 6 {
				t.Errorf("cycle = %d want 6", r1.Cycle)
			}
			if want := map[string]int{"a": 4, "b": 2, "c": 0, "d": 6}; !reflect.DeepEqual(r1.Counts, want) {
				t.Errorf("counts over two cycles = %v want %v", r1.Counts, want)
			}
		})
	}
}

func TestSimulateMaxSequence(t *testing.T) {
	r := simulateJSON(t, exitOK, "--nodes", `{"a":3,"b":1}`, "--picks", "400", "--max-sequence", "10")
	if len(r.Sequence) != 10 || !r.SequenceTruncated {
		t.Errorf("sequence of %d, truncated %v; want 10 and true", len(r.Sequence), r.SequenceTruncated)
	}
	if r.Counts["a"] != 300 || r.Counts["b"] != 100 {
		t.Errorf("counts = %v; want the whole run counted (a 300, b 100)", r.Counts)
	}
}

func TestSimulateSpecFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.json")
	if err := os.WriteFile(path, []byte(`{"x":1,"y":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := simulateJSON(t, exitOK, "--nodes", "@"+path, "--picks", "3")
	if want := map[string]int{"x": 1, "y": 2}; !reflect.DeepEqual(r.Counts, want) {
		t.Errorf("counts = %v want %v", r.Counts, want)
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no nodes", []string{"--picks", "3"}, "--nodes"},
		{"no picks", []string{"--nodes", `{"a":1}`}, "--picks"},
		{"zero picks", []string{"--nodes", `{"a":1}`, "--picks", "0"}, "--picks"},
		{"too many picks", []string{"--nodes", `{"a":1}`, "--picks", "10000001"}, "--picks"},
		{"bad algo", []string{"--nodes", `{"a":1}`, "--picks", "3", "--algo", "random"}, "--algo"},
		{"start without resty", []string{"--nodes", `{"a":1}`, "--picks", "3", "--start", "0"}, "--start"},
		{"start out of range", []string{"--nodes", `{"a":1}`, "--picks", "3", "--algo", "resty", "--start", "5"}, "--start"},
		{"start and seed", []string{"--nodes", `{"a":1}`, "--picks", "3", "--algo", "resty", "--start", "0", "--seed", "1"}, "--seed"},
		{"bad max-sequence", []string{"--nodes", `{"a":1}`, "--picks", "3", "--max-sequence", "-1"}, "--max-sequence"},
		{"bad spec", []string{"--nodes", `{"a":`, "--picks", "3"}, "--nodes"},
		{"missing file", []string{"--nodes", "@" + filepath.Join(t.TempDir(), "none.json"), "--picks", "3"}, "--nodes"},
		{"stray argument", []string{"--nodes", `{"a":1}`, "--picks", "3", "extra"}, "extra"},
		{"unknown flag", []string{"--nodes", `{"a":1}`, "--picks", "3", "--frob"}, "frob"},
		{"svg into a missing directory", []string{"--nodes", `{"a":1}`, "--picks", "3", "--svg", filepath.Join(t.TempDir(), "no", "such", "x.svg")}, "--svg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"simulate"}, tc.args...)...)
			if code != exitUsage {
				t.Errorf("exit %d want %d; stdout %q", code, exitUsage, out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not mention %q", errOut, tc.want)
			}
		})
	}
}

func TestSimulateHelp(t *testing.T) {
	code, out, _ := runCLI(t, "simulate", "-h")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--picks", "10,000,000", "--max-sequence", "Exit codes", "Example", "safewrr simulate --nodes"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// svgDoc parses an SVG with encoding/xml and counts elements by class.
func svgDoc(t *testing.T, data []byte) (root string, classes map[string]int, texts []string) {
	t.Helper()
	classes = map[string]int{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, data)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				root = tk.Name.Space + " " + tk.Name.Local
			}
			depth++
			for _, a := range tk.Attr {
				if a.Name.Local == "class" {
					classes[a.Value]++
				}
			}
			inText = tk.Name.Local == "text"
		case xml.EndElement:
			depth--
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, string(tk))
			}
		}
	}
	if depth != 0 {
		t.Fatalf("SVG ends with %d elements open", depth)
	}
	return root, classes, texts
}

func TestSimulateSVG(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		spec      string
		picks     int
		wantPicks int // marks on the timeline
		wantBars  int
	}{
		{"small", `{"a":5,"b":"0","c":0,"d<&>\"":2}`, 14, 14, 3},
		{"long run is cut to 1000 marks", `{"a":2,"b":1}`, 5000, 1000, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".svg")
			code, _, errOut := runCLI(t, "simulate", "--nodes", tc.spec, "--picks", strconv.Itoa(tc.picks), "--svg", path)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			root, classes, texts := svgDoc(t, data)
			if root != "http://www.w3.org/2000/svg svg" {
				t.Errorf("root element %q want svg in the SVG namespace", root)
			}
			if classes["pick"] != tc.wantPicks || classes["bar"] != tc.wantBars || classes["ideal"] != tc.wantBars {
				t.Errorf("marks %d bars %d ideal lines %d; want %d, %d, %d", classes["pick"], classes["bar"], classes["ideal"], tc.wantPicks, tc.wantBars, tc.wantBars)
			}
			all := strings.Join(texts, "\n")
			if strings.Contains(tc.spec, `"0"`) && (classes["rejected"] != 1 || !strings.Contains(all, "string-zero")) {
				t.Errorf("the rejected node is not listed with its reason: %q", all)
			}
			if strings.Contains(tc.spec, "d<&>") && !strings.Contains(all, `d<&>"`) {
				t.Errorf("an id with XML metacharacters did not survive escaping: %q", all)
			}
		})
	}
}

func TestSVGManyNodes(t *testing.T) {
	var nodes []simNode
	var seq []int
	for i := range 100 {
		nodes = append(nodes, simNode{ID: "node-" + strconv.Itoa(i) + strings.Repeat("x", 40), Weight: 1, Count: 1, Ideal: 1})
		seq = append(seq, i)
	}
	var b bytes.Buffer
	if err := writeSVG(&b, svgChart{Title: "t", Nodes: nodes, Seq: seq, Picks: 100}); err != nil {
		t.Fatal(err)
	}
	_, classes, texts := svgDoc(t, b.Bytes())
	if classes["bar"] != svgMaxNodes || classes["pick"] != svgMaxNodes {
		t.Errorf("bars %d marks %d; want %d of each (nodes past the limit are not drawn)", classes["bar"], classes["pick"], svgMaxNodes)
	}
	if !strings.Contains(strings.Join(texts, "\n"), "36 more nodes are not drawn") {
		t.Errorf("no note about the nodes left out")
	}
}
