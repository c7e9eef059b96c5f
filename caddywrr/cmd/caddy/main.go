// Command caddy is Caddy with its standard modules and safewrr's: the same
// binary `xcaddy build --with github.com/safewrr/safewrr/caddywrr` makes.
// Run it as Caddy: `caddy run --config Caddyfile`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/safewrr/safewrr/caddywrr"
)

func main() {
	caddycmd.Main()
}
