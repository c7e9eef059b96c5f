package luacompat

import "github.com/safewrr/safewrr/weights"

// The incident's input: one node with weight 10 and one whose weight the
// registry sent as the JSON string "0".
//
// The ids are chosen so that every engine walks the weight-10 node first,
// which is the order in which resty-roundrobin-2020 hangs (the other order
// raises "attempt to compare string with number" instead): gopher-lua walks a
// table in insertion order, and OpenResty's LuaJIT (luajit2 2.1-20230119, the
// engine of Debian's libnginx-mod-http-lua) happens to place "10.0.0.3:80"
// before "10.0.0.4:80" in a two-key table whichever is inserted first. The
// LuaJIT end-to-end test checks this. Run reports the order actually used.
const (
	IncidentGoodID = "10.0.0.3:80"
	IncidentBadID  = "10.0.0.4:80"
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
