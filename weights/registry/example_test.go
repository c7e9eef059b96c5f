package registry_test

import (
	"fmt"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// A Bilibili discovery response: the registry sends weights as strings in a
// metadata map. A missing weight takes the registry's default, 10; the
// string "0" is rejected whatever the convention; "" is rejected too,
// though the discovery SDK would read it as 10 (FollowSDK does); status 2
// drains.
func ExampleDecode() {
	payload := []byte(`{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"20"}},
		{"hostname":"b","addrs":["grpc://10.0.0.2:9000"],"status":1,"metadata":{"weight":"0"}},
		{"hostname":"c","addrs":["grpc://10.0.0.3:9000"],"status":1,"metadata":{"weight":""}},
		{"hostname":"e","addrs":["grpc://10.0.0.5:9000"],"status":1,"metadata":{}},
		{"hostname":"d","addrs":["grpc://10.0.0.4:9000"],"status":2,"metadata":{"weight":"20"}}]}}}`)
	snap, rep, err := registry.Decode(registry.FormatDiscovery, payload, registry.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range snap.Nodes {
		fmt.Println(n.ID, n.Weight)
	}
	for _, e := range rep.Rejected {
		fmt.Println("rejected", e.ID, e.Reason)
	}
	for _, n := range rep.Notes {
		fmt.Println(n.ID, n.Code)
	}
	// Output:
	// 10.0.0.1:9000 20
	// 10.0.0.5:9000 10
	// 10.0.0.4:9000 0
	// rejected 10.0.0.2:9000 string-zero
	// rejected 10.0.0.3:9000 bad-string
	// 10.0.0.5:9000 defaulted
	// 10.0.0.4:9000 drained
}

// FormatAuto tells the registry from the payload's shape and says which it
// chose in Report.Format. Nacos weights are floats, scaled by 100.
func ExampleDecodeFormat() {
	payload := []byte(`{"name":"DEFAULT_GROUP@@orders","hosts":[
		{"ip":"10.0.0.1","port":8080,"weight":1.0,"healthy":true,"enabled":true},
		{"ip":"10.0.0.2","port":8080,"weight":0.5,"healthy":true,"enabled":true},
		{"ip":"10.0.0.3","port":8080,"weight":1.0,"healthy":false,"enabled":true}]}`)
	snap, rep, err := registry.DecodeFormat(registry.FormatAuto, payload, weights.Policy{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("format:", rep.Format)
	for _, n := range snap.Nodes {
		fmt.Println(n.ID, n.Weight, n.Drained())
	}
	// Output:
	// format: nacos
	// 10.0.0.1:8080 100 false
	// 10.0.0.2:8080 50 false
	// 10.0.0.3:8080 0 true
}

// The discovery SDK reads an unparsable weight as 10. By default that
// weight is rejected, and the message says what the SDK would have done;
// FollowSDK reproduces the SDK for users who must.
func ExampleConvention() {
	payload := []byte(`{"code":0,"data":{"instances":{"sh001":[
		{"hostname":"a","addrs":["grpc://10.0.0.1:9000"],"status":1,"metadata":{"weight":"abc"}}]}}}`)
	_, rep, _ := registry.Decode(registry.FormatDiscovery, payload, registry.Options{})
	fmt.Println(rep.Rejected[0].Explain())
	snap, rep, _ := registry.Decode(registry.FormatDiscovery, payload, registry.Options{Convention: registry.FollowSDK})
	fmt.Println(snap.Nodes[0].ID, snap.Nodes[0].Weight, rep.Notes[0].Code)
	// Output:
	// weight is the string "abc", which is not a plain decimal integer (bad-string): only plain decimal integers such as "10" are accepted; the weight is metadata.weight; the Bilibili discovery SDK would use 10
	// 10.0.0.1:9000 10 defaulted
}

// Settings reads decode settings given by name, as a command line, a URL
// query or a configuration file carries them.
func ExampleSettings() {
	var s registry.Settings
	for _, kv := range [][2]string{{"format", "nacos"}, {"policy", "lenient"}, {"health", "reject"}} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			fmt.Println(err)
			return
		}
	}
	o := s.Options()
	fmt.Println(s.Format(), o.Health == registry.HealthReject)
	fmt.Println(s.Set("convention", "mine"))
	// Output:
	// nacos true
	// registry: convention must be registry, sdk or policy, got "mine"
}
