package caddywrr_test

import (
	"encoding/json"
	"fmt"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

	_ "github.com/safewrr/safewrr/caddywrr"
)

// The Caddyfile of the README, adapted to Caddy's JSON: the source's
// subdirectives become fields of dynamic_upstreams, the policy's of
// selection_policy.
func Example() {
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(`
:8080 {
	reverse_proxy {
		dynamic safewrr /etc/registry/shop.json {
			poll 200ms
			format discovery
			service main.shop
		}
		lb_policy safewrr {
			algorithm resty
		}
	}
}
`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var doc struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []map[string]json.RawMessage
					}
				}
			}
		}
	}
	if err := json.Unmarshal(cfg, &doc); err != nil {
		fmt.Println(err)
		return
	}
	h := doc.Apps.HTTP.Servers["srv0"].Routes[0].Handle[0]
	fmt.Println(string(h["dynamic_upstreams"]))
	fmt.Println(string(h["load_balancing"]))
	// Output:
	// {"format":"discovery","poll":200000000,"registry":"/etc/registry/shop.json","service":"main.shop","source":"safewrr"}
	// {"selection_policy":{"algorithm":"resty","policy":"safewrr"}}
}
