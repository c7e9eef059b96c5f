package weights_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
)

// rejectsOf renders a report's rejects as "#index:reason" words.
func rejectsOf(rep weights.Report) string {
	var w []string
	for _, ne := range rep.Rejected {
		w = append(w, fmt.Sprintf("#%d:%s", ne.Index, ne.Reason))
	}
	return strings.Join(w, " ")
}

// TestDuplicateCopies: an id sent more than once is served once when every
// copy reads the same, and not at all when the copies disagree, every copy
// then being a duplicate-id reject; in both shapes of Decode and in Build.
func TestDuplicateCopies(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		policy  weights.Policy
		nodes   string // "id=weight ..."
		rejects string // "#index:reason ..."
		refused bool
		detail  []string // in the first reject's message
	}{
		{"different weights", `{"10.0.0.1:80":5,"10.0.0.1:80":0,"b":1}`, weights.Policy{},
			"b=1", "#0:duplicate-id #1:duplicate-id", false,
			[]string{"sent again as node #1 with weight 0 (drained)", "here weight 5", "no copy is served"}},
		{"different weights only", `{"a":5,"a":6}`, weights.Policy{}, "", "#0:duplicate-id #1:duplicate-id", true, nil},
		{"same weight", `{"a":5,"b":1,"a":5}`, weights.Policy{}, "a=5 b=1", "#2:duplicate-id", false,
			[]string{"first sent as node #0"}},
		{"same value, other spelling", `{"a":10,"a":10.0,"a":1e1}`, weights.Policy{}, "a=10", "#1:duplicate-id #2:duplicate-id", false, nil},
		{"same string under lenient", `{"a":"10","a":10}`, weights.Lenient(), "a=10", "#1:duplicate-id", false, nil},
		{"third copy differs", `{"a":5,"a":5,"a":7,"b":1}`, weights.Policy{},
			"b=1", "#0:duplicate-id #1:duplicate-id #2:duplicate-id", false,
			[]string{"sent again as node #2 with weight 7", "here weight 5"}},
		{"first rejected, later good", `{"a":NaN,"a":5,"b":1}`, weights.Policy{},
			"b=1", "#0:duplicate-id #1:duplicate-id", false,
			[]string{"here weight NaN (rejected: nan)", "sent again as node #1 with weight 5"}},
		{"first good, later string zero", `{"a":5,"b":1,"a":"0"}`, weights.Policy{},
			"b=1", "#0:duplicate-id #2:duplicate-id", false,
			[]string{`weight "0" (rejected: string-zero)`}},
		{"both rejected alike", `{"a":"0","a":"0","b":1}`, weights.Policy{}, "b=1", "#0:string-zero #1:duplicate-id", false, nil},
		{"both rejected differently", `{"a":"0","a":-1,"b":1}`, weights.Policy{}, "b=1", "#0:duplicate-id #1:duplicate-id", false, nil},
		{"refuse whole", `{"a":5,"a":5,"b":1}`, weights.Policy{Partial: weights.RefuseWhole}, "", "#1:duplicate-id", true, nil},
		{"array shape", `[{"id":"a","weight":5},{"id":"b"},{"id":"a","weight":0}]`, weights.Policy{},
			"b=1", "#0:duplicate-id #2:duplicate-id", false, nil},
		{"array shape, missing is the default", `[{"id":"a"},{"id":"a","weight":1}]`, weights.Policy{}, "a=1", "#1:duplicate-id", false, nil},
		{"malformed copy", `[{"id":"a","weight":5},{"id":"a","weight":5,"weight":6},{"id":"b","weight":1}]`, weights.Policy{},
			"b=1", "#0:duplicate-id #1:duplicate-id", false, nil},
		{"addresses, every spelling", `{"Web-1.Example.:80":5,"web-1.example:80":5,"[::ffff:10.0.0.1]:80":2,"10.0.0.1:80":3,"[FD00:0::1]:80":1,"[fd00::1]:80":1}`,
			weights.Policy{IDs: weights.IDsAddress},
			"web-1.example:80=5 [fd00::1]:80=1", "#1:duplicate-id #2:duplicate-id #3:duplicate-id #5:duplicate-id", false, nil},
		{"free ids are names", `{"Web:80":5,"web:80":6}`, weights.Policy{}, "Web:80=5 web:80=6", "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, rep, err := weights.Decode([]byte(tt.payload), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			var nodes []string
			for _, n := range snap.Nodes {
				nodes = append(nodes, n.ID+"="+strconv.Itoa(int(n.Weight)))
			}
			if got := strings.Join(nodes, " "); got != tt.nodes && !tt.refused {
				t.Errorf("nodes %q, want %q", got, tt.nodes)
			}
			if got := rejectsOf(rep); got != tt.rejects {
				t.Errorf("rejects %q, want %q", got, tt.rejects)
			}
			if (rep.Refused != nil) != tt.refused || (tt.refused && len(snap.Nodes) != 0) {
				t.Errorf("refused %v with %d nodes, want refused %v", rep.Refused, len(snap.Nodes), tt.refused)
			}
			for _, ne := range rep.Rejected {
				if ne.Reason == weights.ReasonDuplicateID && !errors.Is(ne, weights.ErrDuplicateID) {
					t.Errorf("%v does not wrap ErrDuplicateID", ne)
				}
			}
			for _, want := range tt.detail {
				if len(rep.Rejected) == 0 || !strings.Contains(rep.Rejected[0].Error(), want) {
					t.Errorf("first reject %v does not say %q", rep.Rejected, want)
				}
			}
			// Build on the same entries (object shape) agrees.
			tree, err := weights.ParseJSON([]byte(tt.payload), weights.Limits{})
			if err != nil || tree.Kind != weights.KindObject {
				return
			}
			var entries []weights.Entry
			for _, m := range tree.Members {
				entries = append(entries, weights.Entry{ID: m.Key, Weight: m.Value})
			}
			bsnap, brep := tt.policy.Build(entries)
			if !reflect.DeepEqual(bsnap, snap) || rejectsOf(brep) != rejectsOf(rep) {
				t.Errorf("Build gives %v %s, Decode %v %s", bsnap.Nodes, rejectsOf(brep), snap.Nodes, rejectsOf(rep))
			}
		})
	}
}

// TestDuplicateEntries: Build counts an entry that its source rejected
// (Entry.Reject) or marked drained as a copy of its id.
func TestDuplicateEntries(t *testing.T) {
	tests := []struct {
		name    string
		entries []weights.Entry
		rejects string
	}{
		{"not serving, then serving", []weights.Entry{
			{ID: "a", Weight: weights.Int(5), Reject: weights.ReasonNotServing, Detail: "status DOWN"},
			{ID: "a", Weight: weights.Int(5)},
			{ID: "b", Weight: weights.Int(1)},
		}, "#0:duplicate-id #1:duplicate-id"},
		{"drained, then serving", []weights.Entry{
			{ID: "a", Weight: weights.Int(5)},
			{ID: "a", Weight: weights.Int(5), Drained: true},
			{ID: "b", Weight: weights.Int(1)},
		}, "#0:duplicate-id #1:duplicate-id"},
		{"both not serving", []weights.Entry{
			{ID: "a", Weight: weights.Int(5), Reject: weights.ReasonNotServing},
			{ID: "a", Weight: weights.Int(5), Reject: weights.ReasonNotServing},
			{ID: "b", Weight: weights.Int(1)},
		}, "#0:not-serving #1:duplicate-id"},
		{"a rejected entry with an unusable id is no copy", []weights.Entry{
			{ID: "a\x00", Weight: weights.Int(5), Reject: weights.ReasonMalformedEntry},
			{ID: "a\x00", Weight: weights.Int(5)},
			{ID: "b", Weight: weights.Int(1)},
		}, "#0:malformed-entry #1:bad-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, rep := weights.Policy{}.Build(tt.entries)
			if got := rejectsOf(rep); got != tt.rejects {
				t.Errorf("rejects %q, want %q", got, tt.rejects)
			}
			if len(snap.Nodes) != 1 || snap.Nodes[0].ID != "b" {
				t.Errorf("nodes %v, want only b", snap.Nodes)
			}
			if strings.Contains(tt.rejects, "#0:duplicate-id") && !strings.Contains(rep.Rejected[0].Detail, "sent again as node #1") {
				t.Errorf("detail %q does not name the other copy", rep.Rejected[0].Detail)
			}
		})
	}
}

// TestDuplicateCopiesMany: many ids, some sent twice alike, some twice
// differently, past the size where the id set hashes: the accepted nodes
// keep the payload's order and the rejects come in payload order.
func TestDuplicateCopiesMany(t *testing.T) {
	var b strings.Builder
	b.WriteByte('{')
	var want []weights.Node
	wantRejects := map[int]bool{}
	n := 0
	add := func(id string, w int) {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", id, w)
		n++
	}
	for i := 0; i < 300; i++ {
		id := "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ":80"
		add(id, 1+i%5)
		switch i % 3 {
		case 0: // alone
			want = append(want, weights.Node{ID: id, Weight: uint32(1 + i%5)})
		case 1: // again, alike
			want = append(want, weights.Node{ID: id, Weight: uint32(1 + i%5)})
			wantRejects[n] = true
			add(id, 1+i%5)
		case 2: // again, differently
			wantRejects[n-1] = true
			wantRejects[n] = true
			add(id, 100)
		}
	}
	b.WriteByte('}')
	snap, rep, err := weights.Decode([]byte(b.String()), weights.Policy{IDs: weights.IDsAddress})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Nodes, want) {
		t.Errorf("%d nodes, want %d in payload order", len(snap.Nodes), len(want))
	}
	if len(rep.Rejected) != len(wantRejects) {
		t.Errorf("%d rejects, want %d", len(rep.Rejected), len(wantRejects))
	}
	last := -1
	for _, ne := range rep.Rejected {
		if !wantRejects[ne.Index] || ne.Reason != weights.ReasonDuplicateID || ne.Index <= last {
			t.Errorf("unexpected reject %v after #%d", ne, last)
		}
		last = ne.Index
	}
}
