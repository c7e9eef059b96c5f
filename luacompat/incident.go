package luacompat

import "github.com/safewrr/safewrr/weights"

// The incident's input: one node with weight 10 and one whose weight the
// registry sent as the JSON string "0".
//
// Which of the two resty-roundrobin-2020 does depends on the order Lua's
// next() walks the nodes: weight-10 node first, the gcd never ends (a hang);
// "0" first, the gcd ends and the next comparison, 10 > "0", raises "attempt
// to compare string with number" (a failed request). gopher-lua walks a table
// in insertion order, so Run, given these nodes in this order, hangs every
// time. LuaJIT (OpenResty's luajit2, the engine of ngx_lua) seeds its string
// hash at random for every Lua state, so the order, and with it hang or
// error, changes from one nginx worker to the next; with n nodes of which one
// is "0", a worker hangs with probability (n-1)/n. The LuaJIT end-to-end test
// checks that LuaJIT does in each order what gopher-lua does in that order.
const (
	IncidentGoodID = "10.0.0.3:80" // the node with weight 10
	IncidentBadID  = "10.0.0.4:80" // the node whose weight is the string "0"
	// IncidentSpec is the input as a node spec for ParseSpec.
	IncidentSpec = `{["10.0.0.3:80"]=10, ["10.0.0.4:80"]="0"}`
)

// IncidentNodes returns the incident's input, weight-10 node first.
func IncidentNodes() []weights.Entry {
	return []weights.Entry{
		{ID: IncidentGoodID, Weight: weights.Int(10)},
		{ID: IncidentBadID, Weight: weights.String("0")},
	}
}
