package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// simNode is one node of a simulation: its weight, how often it was picked,
// and its ideal share of the picks.
type simNode struct {
	ID     string
	Weight uint32
	Count  int
	Ideal  float64 // weight / total serving weight × picks
}

// svgChart is what writeSVG draws.
type svgChart struct {
	Title    string
	Nodes    []simNode
	Seq      []int    // node indexes of the first picks, in order
	Picks    int      // total number of picks (Seq may hold fewer)
	Rejected []string // one line per rejected node
}

// Limits that keep the picture readable and the file small.
const (
	svgMaxNodes    = 64   // nodes drawn as bars and lanes
	svgMaxPicks    = 1000 // picks drawn on the timeline
	svgMaxRejected = 16   // rejected nodes listed
	svgMaxLabel    = 28   // characters of a node id before it is cut
)

var svgPalette = []string{"#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5", "#9c6b4e", "#9498a0"}

// writeSVG writes a self-contained SVG: a bar chart of picks per node with
// the ideal share marked, and the sequence over time with one lane per node
// and one mark per pick.
func writeSVG(w io.Writer, c svgChart) error {
	const (
		width   = 960
		margin  = 16
		labelW  = 200
		rightW  = 170
		barH    = 14
		rowH    = 20
		laneH   = 14
		headerH = 40
	)
	x0 := float64(margin + labelW)
	x1 := float64(width - margin - rightW)
	plotW := x1 - x0

	nodes := c.Nodes
	hiddenNodes := 0
	if len(nodes) > svgMaxNodes {
		hiddenNodes = len(nodes) - svgMaxNodes
		nodes = nodes[:svgMaxNodes]
	}
	seq := c.Seq
	if len(seq) > svgMaxPicks {
		seq = seq[:svgMaxPicks]
	}
	rejected := c.Rejected
	hiddenRejected := 0
	if len(rejected) > svgMaxRejected {
		hiddenRejected = len(rejected) - svgMaxRejected
		rejected = rejected[:svgMaxRejected]
	}

	// Vertical layout.
	y := float64(headerH)
	distTop := y + 18
	distBottom := distTop + float64(len(nodes)*rowH)
	seqTop := distBottom + 40
	seqBottom := seqTop + float64(len(nodes)*laneH)
	notesTop := seqBottom + 34
	notes := 0
	if hiddenNodes > 0 {
		notes++
	}
	if len(rejected) > 0 {
		notes += 1 + len(rejected)
		if hiddenRejected > 0 {
			notes++
		}
	}
	height := notesTop + float64(notes*16) + margin

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(c.Title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%.0f" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", margin, esc(c.Title))

	// Distribution: bars of picks with the ideal marked.
	maxV := 0.0
	for _, n := range nodes {
		maxV = max(maxV, float64(n.Count), n.Ideal)
	}
	if maxV == 0 {
		maxV = 1
	}
	fmt.Fprintf(&b, `<g id="distribution"><text x="%d" y="%.1f" font-weight="bold">picks per node (bar) against the ideal share (line)</text>`+"\n", margin, distTop-4)
	for i, n := range nodes {
		top := distTop + float64(i*rowH) + 2
		mid := top + barH/2 + 4
		label := cut(n.ID)
		if n.Weight == 0 {
			label += " (drained)"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, x0-6, mid, esc(label))
		bw := plotW * float64(n.Count) / maxV
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.2f" height="%d" fill="%s"><title>%s: %d picks, ideal %.2f</title></rect>`,
			x0, top, bw, barH, svgPalette[i%len(svgPalette)], esc(n.ID), n.Count, n.Ideal)
		ix := x0 + plotW*n.Ideal/maxV
		fmt.Fprintf(&b, `<line class="ideal" x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#222222" stroke-width="2"/>`, ix, top-2, ix, top+barH+2)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%d (ideal %s)</text>`+"\n", x1+8, mid, n.Count, fmtIdeal(n.Ideal))
	}
	b.WriteString("</g>\n")

	// Sequence: one lane per node, one mark per pick.
	fmt.Fprintf(&b, `<g id="sequence"><text x="%d" y="%.1f" font-weight="bold">sequence: picks 1 to %d of %d, left to right</text>`+"\n", margin, seqTop-8, len(seq), c.Picks)
	for i, n := range nodes {
		top := seqTop + float64(i*laneH)
		if i%2 == 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#f3f3f3"/>`, x0, top, plotW, laneH)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="10">%s</text>`+"\n", x0-6, top+laneH-3, esc(cut(n.ID)))
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888888"/>`+"\n", x0, seqBottom+1, x1, seqBottom+1)
	if len(seq) > 0 {
		step := plotW / float64(len(seq))
		mw := max(step*0.8, 0.6)
		for p, ni := range seq {
			if ni < 0 || ni >= len(nodes) {
				continue // a node beyond the ones drawn
			}
			fmt.Fprintf(&b, `<rect class="pick" x="%.2f" y="%.1f" width="%.2f" height="%d" fill="%s"/>`+"\n",
				x0+float64(p)*step, seqTop+float64(ni*laneH)+2, mw, laneH-4, svgPalette[ni%len(svgPalette)])
		}
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10">1</text><text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%d</text>`+"\n", x0, seqBottom+14, x1, seqBottom+14, len(seq))
	b.WriteString("</g>\n")

	// Notes: nodes left out, rejected nodes.
	ny := notesTop
	b.WriteString(`<g id="notes">`)
	if hiddenNodes > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">%d more nodes are not drawn (the chart shows the first %d)</text>`, margin, ny, hiddenNodes, svgMaxNodes)
		ny += 16
	}
	if len(rejected) > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-weight="bold">rejected nodes (never picked)</text>`, margin, ny)
		ny += 16
		for _, r := range rejected {
			fmt.Fprintf(&b, `<text class="rejected" x="%d" y="%.1f" fill="#b00020">%s</text>`, margin+8, ny, esc(r))
			ny += 16
		}
		if hiddenRejected > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%.1f">and %d more</text>`, margin+8, ny, hiddenRejected)
		}
	}
	b.WriteString("</g>\n</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// esc escapes text for XML character data and attribute values, dropping
// characters XML 1.0 cannot carry.
func esc(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != utf8.RuneError && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return '?'
	}, s)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// cut shortens a long node id for a label.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= svgMaxLabel {
		return s
	}
	r := []rune(s)
	return string(r[:svgMaxLabel-1]) + "…"
}

// fmtIdeal prints an ideal share without noise: "5" or "2.33".
func fmtIdeal(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
