package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/safewrr/safewrr/internal/regfile"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func init() {
	register(command{
		name:    "validate",
		summary: "check a snapshot or registry payload: accepted nodes, rejected nodes with reasons",
		usage:   validateUsage,
		run:     runValidate,
	})
}

const validateUsage = `Usage:
  safewrr validate [--policy strict|lenient] [--format auto|map|discovery|kratos|consul|nacos|eureka|eds|apisix|endpointslice]
                   [--scale N] [--refuse-partial] [--convention registry|sdk|policy]
                   [--health drain|reject|ignore] [--service NAME] [--scheme S] [--port NAME]
                   [--merge-services] [--require-addresses] [--allow-empty]
                   [--allow-names] FILE|- [--json]

Reads a payload from FILE (a regular file: a FIFO, a device or a directory is
refused at once) or standard input (-), decodes it, and prints
the accepted nodes (id, weight, drained or serving) and the rejected nodes
(index, id, reason, the raw value as sent, and why), then what the policy
decided for the snapshot as a whole.

--format auto (the default) detects the format from the payload's shape and
says which it chose; map is a plain snapshot, {"id": weight, ...} or
[{"id": ..., "weight": ...}, ...]; the others are registry responses, read
with that registry's own meaning of 0, missing and malformed weights (each
such decision is listed as a note). The string "0" is rejected in every
format and policy (string-zero).

--policy strict (the default) takes only JSON numbers as weights; lenient
also takes plain decimal strings such as "10". --scale N multiplies every
weight before the integer check (for fractional weights). --refuse-partial
refuses the whole snapshot when any node is rejected.

--convention registry (the default) applies what each registry defines
well: a missing weight takes its default (discovery: 10, kratos: 100,
Eureka: 1), 0 or a non-serving status drains, Envoy's 0 refuses the whole
response, Nacos weights are scaled; NaN, negatives, malformed strings and
fractions are rejected, and the message says what the registry's client
would have done. sdk also reproduces the clients' lenience (discovery reads
"abc" or "-5" as 10), each substitution noted; policy applies only the
--policy rules. --health says what happens to instances the registry marks
as not serving: drain (kept with weight 0, the default), reject, or ignore.
--service keeps one service of a multi-service payload (discovery appid,
Eureka application, EDS cluster, kratos name); --scheme picks one URL of
instances that list several (grpc, http); --port picks an EndpointSlice
port by name.

Ids with control characters, invalid UTF-8 or surrounding space are
rejected (bad-id). Registry ids must be host:port (not-an-address names a
scheme, userinfo, path, query or bad port; a host ending in a number must be
dotted-decimal IPv4) and are shown in canonical form (DNS names in lower
case without a final dot, IPv6 as RFC 5952 writes it, IPv4-mapped IPv6 as
IPv4); --require-addresses applies that rule to plain maps too, whose ids
are otherwise free-form names. The proxy always applies it, and so does
validate: a plain map is read as the proxy reads it, so an id the proxy
rejects (not-an-address, or duplicate-id for two spellings of one address)
is a reject here and the exit code is 1, never only a note; a spelling the
proxy serves in canonical form (Web-1.Example:80 as web-1.example:80) gets
a note with code proxy and is accepted. --allow-names reads plain map ids
as free names instead (for a payload whose ids are never dialed, such as
one for simulate or diff): the nodes the proxy would read otherwise then
get a note with code proxy, which says what the proxy would do.

An id sent more than once is served once when every copy reads the same,
and not at all when the copies disagree ({"a": 5, "a": 0}): every copy is
then rejected (duplicate-id).

--json prints one object: format, detected, policy, entries, gcd, refused
(null or why), serving (accepted nodes with weight above 0),
nothing_to_serve (null or why), accepted (id, weight, and drained: true for weight 0),
rejected (index: the node's position in the payload, from 0; id, reason,
raw, message), notes (index as for rejected, -1 for the payload; id, code,
detail),
and error when the payload could not be read at all.

A payload that holds several services is an error naming them unless
--service chooses one or --merge-services serves them as one pool; an
EndpointSlice with several ports needs --port.

Exit codes: 0 every node was accepted and some node would serve; 1 a node
was rejected, the snapshot was refused, the payload is not a readable
snapshot (malformed JSON, too large, unknown format), or nothing would serve
(empty, every node drained, no instance of --service) unless --allow-empty;
2 usage or I/O error.

Example:
  safewrr validate nodes.json
  echo '{"10.0.0.1:80": 10, "10.0.0.2:80": "0"}' | safewrr validate --json -
  safewrr validate --format nacos --policy lenient instances.json
  safewrr validate --format discovery --scheme grpc --convention policy fetch.json
`

// validateStdin is where "-" reads from; tests replace it.
var validateStdin io.Reader = os.Stdin

// validateMaxRaw bounds the raw text shown in the table; --json shows it whole.
const validateMaxRaw = 40

// validateMaxRows bounds the rows of each text table; --json lists all.
const validateMaxRows = 1000

// moreRows says how many rows of a table were not shown.
func moreRows(w io.Writer, n int, what string) {
	if n > validateMaxRows {
		fmt.Fprintf(w, "  ... %d more %s not shown (--json lists them all)\n", n-validateMaxRows, what)
	}
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	c := commands["validate"]
	fs := newFlagSet(c, stdout, stderr)
	dec := addDecodeFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object instead of tables")
	allowEmpty := fs.Bool("allow-empty", false, "exit 0 when no node would serve (scale to zero is expected)")
	allowNames := fs.Bool("allow-names", false, "read plain map ids as free names, as simulate and diff do, not as the proxy's host:port (for payloads whose ids are never dialed)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "safewrr validate: "+format+"\n", a...)
		fmt.Fprintln(stderr, `Run "safewrr validate -h" for usage.`)
		return exitUsage
	}
	format, o, err := dec.options()
	if err != nil {
		return usageErr("%v", err)
	}
	switch fs.NArg() {
	case 0:
		return usageErr("a FILE (or - for standard input) is required")
	case 1:
	default:
		return usageErr("one FILE at a time, got %d: %q", fs.NArg(), fs.Args())
	}

	name := fs.Arg(0)
	data, err := readPayload(name, o.Policy.Limits)
	if err != nil {
		fmt.Fprintf(stderr, "safewrr validate: %v\n", err)
		return exitUsage
	}

	snap, rep, derr := registry.Decode(format, data, o)
	// The proxy reads every id as an address. A plain map read with free
	// ids is read again that way: without --allow-names that reading is
	// the verdict (a name the proxy rejects is a reject here, never only a
	// note); with it, the proxy's reading becomes notes.
	var proxyRead []validateNote
	if derr == nil && rep.Format == string(registry.FormatMap) && o.Policy.IDs != weights.IDsAddress {
		po := o
		po.Policy.IDs = weights.IDsAddress
		if psnap, prep, perr := registry.Decode(registry.FormatMap, data, po); perr == nil {
			proxyRead = proxyNotes(snap, rep.Report, psnap, prep.Report)
			if !*allowNames {
				// The proxy's rejects and refusal are the verdict itself;
				// only its canonical spellings stay notes.
				snap, rep = psnap, prep
				renames := proxyRead[:0]
				for _, n := range proxyRead {
					if strings.HasPrefix(n.Detail, proxyServesAs) {
						renames = append(renames, n)
					}
				}
				if len(renames) < len(proxyRead) {
					renames = append(renames, validateNote{Index: -1, Code: "proxy",
						Detail: "ids are read as the proxy reads them, host:port, so an id the proxy rejects is a reject here; --allow-names reads them as free names, for a payload whose ids are never dialed (simulate, diff)"})
				}
				proxyRead = renames
			}
		}
	}
	out := validateResult{
		Format:   rep.Format,
		Detected: format == registry.FormatAuto,
		Policy:   dec.policyName(),
		Entries:  rep.Entries,
		GCD:      rep.GCD,
		Accepted: []validateAccepted{},
		Rejected: []validateRejected{},
		Notes:    []validateNote{},
	}
	if out.Format == "" {
		out.Format = string(format)
	}
	if derr != nil {
		msg := decodeErrorText(derr)
		out.Error = &msg
	}
	if rep.Refused != nil {
		msg := decodeErrorText(rep.Refused)
		out.Refused = &msg
	}
	for _, n := range snap.Nodes {
		out.Accepted = append(out.Accepted, validateAccepted{ID: n.ID, Weight: n.Weight, Drained: n.Drained()})
		if !n.Drained() {
			out.Serving++
		}
	}
	if derr == nil && rep.Refused == nil && out.Serving == 0 {
		why := nothingToServe(o, rep, len(snap.Nodes))
		out.NothingToServe = &why
	}
	out.Rejected = slices.Grow(out.Rejected, len(rep.Rejected))
	for i, ne := range rep.Rejected {
		r := validateRejected{Index: ne.Index, ID: ne.ID, Reason: string(ne.Reason)}
		// The text table shows the first validateMaxRows rows: the raw value
		// and the message of the others are not written out for it.
		if *asJSON || i < validateMaxRows {
			r.Raw, r.Message = ne.Raw.String(), ne.Explain()
		}
		out.Rejected = append(out.Rejected, r)
	}
	for _, n := range rep.Notes {
		out.Notes = append(out.Notes, validateNote{Index: n.Index, ID: n.ID, Code: string(n.Code), Detail: n.Detail})
	}
	out.Notes = append(out.Notes, proxyRead...)

	if *asJSON {
		if err := writeValidateJSON(stdout, out); err != nil {
			fmt.Fprintf(stderr, "safewrr validate: %v\n", err)
			return exitUsage
		}
		if derr != nil {
			fmt.Fprintf(stderr, "safewrr validate: %s: %s\n", displayName(name), *out.Error)
		}
		if out.NothingToServe != nil && !*allowEmpty {
			fmt.Fprintf(stderr, "safewrr validate: %s: nothing to serve: %s\n", displayName(name), *out.NothingToServe)
		}
	} else {
		printValidateText(stdout, stderr, displayName(name), out, *allowEmpty)
	}
	if derr != nil || rep.Refused != nil || len(rep.Rejected) > 0 || (out.NothingToServe != nil && !*allowEmpty) {
		return exitRejected
	}
	return exitOK
}

// proxyNotes compares a plain snapshot read with free-form ids (snap, rep)
// with the same payload read as the proxy reads it, with address ids
// (psnap, prep), and returns a note with code proxy for every node the
// proxy would read otherwise, and for a snapshot it would refuse.
func proxyNotes(snap weights.Snapshot, rep weights.Report, psnap weights.Snapshot, prep weights.Report) []validateNote {
	var notes []validateNote
	if prep.Refused != nil && rep.Refused == nil {
		notes = append(notes, validateNote{Index: -1, Code: "proxy",
			Detail: "the proxy would refuse this snapshot: " + decodeErrorText(prep.Refused)})
	}
	pRejected := make(map[int]*weights.NodeError, len(prep.Rejected))
	for _, ne := range prep.Rejected {
		pRejected[ne.Index] = ne
	}
	rejected := make(map[int]bool, len(rep.Rejected))
	for _, ne := range rep.Rejected {
		rejected[ne.Index] = true
	}
	k, pk := 0, 0 // the next accepted node of each reading
	for i := 0; i < rep.Entries && k < len(snap.Nodes); i++ {
		if rejected[i] {
			if pRejected[i] == nil {
				pk++
			}
			continue
		}
		n := snap.Nodes[k]
		k++
		switch pne := pRejected[i]; {
		case pne != nil:
			notes = append(notes, validateNote{Index: i, ID: n.ID, Code: "proxy",
				Detail: "the proxy would reject this node: " + decodeErrorText(pne.Reason.Err()) + " (" + string(pne.Reason) + "): " + pne.Detail +
					"; --require-addresses checks ids as the proxy does"})
		case prep.Refused == nil && pk < len(psnap.Nodes):
			if id := psnap.Nodes[pk].ID; id != n.ID {
				notes = append(notes, validateNote{Index: i, ID: n.ID, Code: "proxy",
					Detail: proxyServesAs + id + ", the address in canonical form"})
			}
			pk++
		}
	}
	return notes
}

// proxyServesAs begins the note of a node the proxy serves under its
// canonical spelling.
const proxyServesAs = "the proxy would serve this node as "

// readPayload reads FILE or standard input, at most one byte more than the
// size limit so that an oversized payload is reported by the decoder rather
// than read whole. FILE must be a regular file: it is opened non-blocking,
// so a FIFO, a device or a directory is an error at once, never a wait.
func readPayload(name string, l weights.Limits) ([]byte, error) {
	limit := l.MaxBytes
	if limit <= 0 {
		limit = weights.DefaultMaxBytes
	}
	if name != "-" {
		data, err := regfile.Read(name, int64(limit))
		var nr *regfile.NotRegularError
		if errors.As(err, &nr) && nr.Mode.IsDir() {
			return nil, fmt.Errorf("%s is a directory", name)
		}
		return data, err
	}
	data, err := io.ReadAll(io.LimitReader(validateStdin, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", displayName(name), err)
	}
	return data, nil
}

func displayName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return name
}

// validateResult is the --json output; the text tables show the same.
type validateResult struct {
	Format   string  `json:"format"`
	Detected bool    `json:"detected"`
	Policy   string  `json:"policy"`
	Entries  int     `json:"entries"`
	GCD      uint32  `json:"gcd"`
	Refused  *string `json:"refused"`
	// Serving counts the accepted nodes with a weight above 0.
	Serving int `json:"serving"`
	// NothingToServe says why no node would serve (null when some would).
	NothingToServe *string            `json:"nothing_to_serve"`
	Accepted       []validateAccepted `json:"accepted"`
	Rejected       []validateRejected `json:"rejected"`
	Notes          []validateNote     `json:"notes"`
	Error          *string            `json:"error,omitempty"`
}

type validateAccepted struct {
	ID      string `json:"id"`
	Weight  uint32 `json:"weight"`
	Drained bool   `json:"drained,omitempty"`
}

type validateRejected struct {
	Index   int    `json:"index"`
	ID      string `json:"id"`
	Reason  string `json:"reason"`
	Raw     string `json:"raw"`
	Message string `json:"message"`
}

type validateNote struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func printValidateText(w, stderr io.Writer, name string, out validateResult, allowEmpty bool) {
	how := "given"
	if out.Detected {
		how = "detected"
	}
	if out.Error != nil {
		if out.Detected && out.Format == string(registry.FormatAuto) {
			fmt.Fprintf(w, "%s: not a readable snapshot (format not detected)\n", name)
		} else {
			fmt.Fprintf(w, "%s: not a readable snapshot (format %s, %s)\n", name, out.Format, how)
		}
		fmt.Fprintf(stderr, "safewrr validate: %s: %s\n", name, *out.Error)
		return
	}
	fmt.Fprintf(w, "%s: format %s (%s), policy %s, %s\n", name, out.Format, how, out.Policy, validatePlural(out.Entries, "node"))

	drained := 0
	for _, a := range out.Accepted {
		if a.Drained {
			drained++
		}
	}
	fmt.Fprintf(w, "\naccepted: %s", validatePlural(len(out.Accepted), "node"))
	if drained > 0 {
		fmt.Fprintf(w, " (%d drained)", drained)
	}
	if out.GCD > 1 {
		fmt.Fprintf(w, ", gcd %d", out.GCD)
	}
	fmt.Fprintln(w)
	if len(out.Accepted) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tWEIGHT\tSTATE")
		for _, a := range out.Accepted[:min(len(out.Accepted), validateMaxRows)] {
			state := "serving"
			if a.Drained {
				state = "drained"
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", showID(a.ID), a.Weight, state)
		}
		tw.Flush()
		moreRows(w, len(out.Accepted), "accepted nodes")
	}

	fmt.Fprintf(w, "\nrejected: %s", validatePlural(len(out.Rejected), "node"))
	if len(out.Rejected) > 0 {
		fmt.Fprint(w, " (# is the node's position in the payload, from 0)")
	}
	fmt.Fprintln(w)
	if len(out.Rejected) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  #\tID\tREASON\tRAW\tWHY")
		for _, r := range out.Rejected[:min(len(out.Rejected), validateMaxRows)] {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", r.Index, showID(r.ID), r.Reason, shorten(r.Raw, validateMaxRaw), r.Message)
		}
		tw.Flush()
		moreRows(w, len(out.Rejected), "rejected nodes")
	}

	if len(out.Notes) > 0 {
		fmt.Fprintf(w, "\nnotes: %d\n", len(out.Notes))
		for _, n := range out.Notes[:min(len(out.Notes), validateMaxRows)] {
			if n.Index < 0 {
				fmt.Fprintf(w, "  payload: %s: %s\n", n.Code, n.Detail)
			} else {
				fmt.Fprintf(w, "  #%d %s: %s: %s\n", n.Index, showID(n.ID), n.Code, n.Detail)
			}
		}
		moreRows(w, len(out.Notes), "notes")
	}

	fmt.Fprintln(w)
	switch {
	case out.Refused != nil:
		fmt.Fprintf(w, "REFUSED: %s; keep the last good snapshot\n", *out.Refused)
	case out.NothingToServe != nil && !allowEmpty:
		fmt.Fprintf(w, "NOTHING TO SERVE: %s; a balancer would have no node to pick (--allow-empty if that is expected)\n", *out.NothingToServe)
	case out.NothingToServe != nil && len(out.Rejected) == 0:
		fmt.Fprintf(w, "OK: nothing to serve (%s), as --allow-empty allows\n", *out.NothingToServe)
	case len(out.Rejected) > 0:
		fmt.Fprintf(w, "applied without the %s\n", validatePlural(len(out.Rejected), "rejected node"))
	default:
		fmt.Fprintln(w, "OK: every node accepted")
	}
	proxy := 0
	for _, n := range out.Notes {
		if n.Code == "proxy" && strings.HasPrefix(n.Detail, "the proxy would ") {
			proxy++
		}
	}
	if proxy > 0 {
		fmt.Fprintf(w, "the proxy, which reads every id as host:port, would read this payload otherwise: %s with code proxy\n", validatePlural(proxy, "note"))
	}
}

// showID prints an id as is when it is plain, quoted when it is empty or
// holds spaces, control or other invisible characters, so that what a
// registry sent cannot disguise itself or drive the terminal.
func showID(id string) string {
	if id == "" {
		return `""`
	}
	for _, r := range id {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"' {
			return strconv.QuoteToGraphic(id)
		}
	}
	return id
}

// shorten cuts s to about n characters, marking the cut, and keeps the
// result on one line.
func shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsGraphic(r) {
			return '?'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func validatePlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// nothingToServe says why a decoded payload has no serving node.
func nothingToServe(o registry.Options, rep registry.Report, accepted int) string {
	if o.Service != "" && len(rep.Services) > 0 && !slices.ContainsFunc(rep.Services, func(s string) bool {
		return strings.EqualFold(s, o.Service)
	}) {
		return fmt.Sprintf("no service %q in the payload (it holds %s)", o.Service, strings.Join(quoteAll(rep.Services), ", "))
	}
	switch {
	case rep.Entries == 0 && o.Service != "":
		return fmt.Sprintf("no instance of service %q in the payload", o.Service)
	case rep.Entries == 0:
		return "the payload holds no nodes"
	case accepted == 0:
		return fmt.Sprintf("none of the %s was accepted", validatePlural(rep.Entries, "node"))
	}
	return fmt.Sprintf("every accepted node is drained (%d of %d)", accepted, rep.Entries)
}

func quoteAll(names []string) []string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return q
}

// writeValidateJSON writes out as json.Encoder with a two-space indent
// would, but one list element at a time, so that a payload with a hundred
// thousand rejects is not held twice more in memory as JSON text.
func writeValidateJSON(w io.Writer, out validateResult) error {
	accepted, rejected, notes := out.Accepted, out.Rejected, out.Notes
	out.Accepted, out.Rejected, out.Notes = nil, nil, nil
	head, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	// The three lists marshal as null; write each in its place.
	lists := []struct {
		key  string
		n    int
		elem func(int) any
	}{
		{`"accepted": null`, len(accepted), func(i int) any { return accepted[i] }},
		{`"rejected": null`, len(rejected), func(i int) any { return rejected[i] }},
		{`"notes": null`, len(notes), func(i int) any { return notes[i] }},
	}
	rest := head
	for _, l := range lists {
		at := bytes.Index(rest, []byte(l.key))
		if at < 0 {
			return fmt.Errorf("json output: %s not found", l.key)
		}
		bw.Write(rest[:at])
		bw.WriteString(strings.TrimSuffix(l.key, "null"))
		rest = rest[at+len(l.key):]
		if l.n == 0 {
			bw.WriteString("[]")
			continue
		}
		bw.WriteString("[\n    ")
		for i := 0; i < l.n; i++ {
			if i > 0 {
				bw.WriteString(",\n    ")
			}
			b, err := json.MarshalIndent(l.elem(i), "    ", "  ")
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		bw.WriteString("\n  ]")
	}
	bw.Write(rest)
	bw.WriteByte('\n')
	return bw.Flush()
}
