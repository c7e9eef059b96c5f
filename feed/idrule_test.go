package feed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/feed"
	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// noUnix refuses ids whose host is "unix".
func noUnix(id string) string {
	if strings.HasPrefix(id, "unix:") {
		return "grpc-go would dial it as a Unix socket"
	}
	return ""
}

func TestIDRuleRejectsLikeThePolicy(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1, "b:1": "0", "unix:80": 2, "c:1": 3, "unix:81": 4}`}
	f, logs := newFeed(t, r, feed.WithIDRule(weights.ReasonNotAddress, noUnix))
	st := f.Status()
	if got, want := nodes(f.Balancer()), "a:1=1 c:1=3"; got != want || st.LastPoll != feed.Applied {
		t.Fatalf("nodes %q want %q (%+v)", got, want, st)
	}
	if st.Rejected != 3 || st.Reasons["not-an-address"] != 2 || st.Reasons["string-zero"] != 1 {
		t.Fatalf("rejects %d %v", st.Rejected, st.Reasons)
	}
	var got []string
	for _, rj := range st.Rejects {
		got = append(got, fmt.Sprintf("%s#%d %s", rj.ID, rj.Index, rj.Reason))
	}
	if want := "b:1#1 string-zero,unix:80#2 not-an-address,unix:81#4 not-an-address"; strings.Join(got, ",") != want {
		t.Fatalf("rejects in payload order: %q want %q", strings.Join(got, ","), want)
	}
	if m := st.Rejects[1].Message; !strings.Contains(m, "Unix socket") || !strings.HasPrefix(m, `node "unix:80" (#2): `) {
		t.Fatalf("message %q", m)
	}
	if l := logs.take(); !strings.Contains(l, "unix:81") || !strings.Contains(l, "Unix socket") {
		t.Fatalf("the rule's rejects are not logged:\n%s", l)
	}

	// Every node refused by the rule: the update is refused.
	r.set(`{"unix:80": 1}`)
	if st := f.Poll(context.Background()); st.LastPoll != feed.Refused || st.Refused.Stage != "policy" || !strings.Contains(st.LastError, "all 1 nodes rejected") {
		t.Fatalf("every node refused by the rule: %+v", st)
	}
	if got, want := nodes(f.Balancer()), "a:1=1 c:1=3"; got != want {
		t.Fatalf("nodes %q want the last good %q", got, want)
	}
}

func TestIDRuleUnderRefuseWhole(t *testing.T) {
	r := &fakeRegistry{data: `{"a:1": 1}`}
	whole := registry.Options{Policy: weights.Policy{Partial: weights.RefuseWhole}}
	f, _ := newFeed(t, r, feed.WithDecode(whole), feed.WithIDRule(weights.ReasonNotAddress, noUnix))
	r.set(`{"a:1": 1, "unix:80": 1}`)
	st := f.Poll(context.Background())
	if st.LastPoll != feed.Refused || st.Refused.Stage != "policy" || !strings.Contains(st.LastError, "refuses partial") || st.Rejected != 1 {
		t.Fatalf("a partial update under RefuseWhole: %+v", st)
	}
	if got, want := nodes(f.Balancer()), "a:1=1"; got != want {
		t.Fatalf("nodes %q want %q", got, want)
	}
}

func TestIDRulesAddUp(t *testing.T) {
	noB := func(id string) string {
		if strings.HasPrefix(id, "b") {
			return "no b"
		}
		return ""
	}
	r := &fakeRegistry{data: `{"a:1": 1, "b:1": 1, "unix:1": 1, "bunix:1": 1}`}
	f, _ := newFeed(t, r, feed.WithIDRule(weights.ReasonNotAddress, noUnix), feed.WithIDRule(weights.ReasonBadID, noB), feed.WithIDRule(weights.ReasonBadID, nil))
	st := f.Status()
	if got, want := nodes(f.Balancer()), "a:1=1"; got != want {
		t.Fatalf("nodes %q want %q", got, want)
	}
	if st.Reasons["not-an-address"] != 1 || st.Reasons["bad-id"] != 2 {
		t.Fatalf("reasons %v", st.Reasons)
	}
}

// A rule's rejects and the policy's are listed together in payload order.
func TestIDRuleRejectsInPayloadOrder(t *testing.T) {
	r := &fakeRegistry{data: `{"unix:80": 1, "a:1": 1, "b:1": "0", "unix:81": 1}`}
	f, _ := newFeed(t, r, feed.WithIDRule(weights.ReasonNotAddress, noUnix))
	var got []int
	for _, rj := range f.Status().Rejects {
		got = append(got, rj.Index)
	}
	if fmt.Sprint(got) != "[0 2 3]" {
		t.Fatalf("reject indexes %v, want [0 2 3]", got)
	}
}

// WithAddressIDs holds ids to the address rules whatever WithDecode's
// policy says and wherever it stands among the options.
func TestWithAddressIDs(t *testing.T) {
	free := feed.WithDecode(registry.Options{Policy: weights.Strict()})
	payload := `{"Web-1.Example.:80": 2, "web-1.example:80": 1, "10.0.0.2:80": 1, "web-3": 1, "[::ffff:10.0.0.4]:80": 1}`
	for name, opts := range map[string][]feed.Option{
		"after WithDecode":  {free, feed.WithAddressIDs()},
		"before WithDecode": {feed.WithAddressIDs(), free},
	} {
		t.Run(name, func(t *testing.T) {
			f, _ := newFeed(t, &fakeRegistry{data: payload}, append(opts, feed.WithFormat(registry.FormatMap))...)
			st := f.Status()
			if got, want := nodes(f.Balancer()), "10.0.0.2:80=1 10.0.0.4:80=1"; got != want {
				t.Fatalf("nodes %q want %q (%+v)", got, want, st)
			}
			if st.Reasons["duplicate-id"] != 2 || st.Reasons["not-an-address"] != 1 {
				t.Fatalf("rejects %v", st.Reasons)
			}
		})
	}
	// Without it the plain map's ids are free: every spelling is its own node.
	f, _ := newFeed(t, &fakeRegistry{data: payload}, free, feed.WithFormat(registry.FormatMap))
	if n := len(f.Status().Nodes); n != 5 {
		t.Fatalf("free ids: %d nodes, want 5", n)
	}
}
