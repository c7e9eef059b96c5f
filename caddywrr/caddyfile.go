package caddywrr

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile sets up the policy from Caddyfile tokens:
//
//	lb_policy safewrr [<weights...>] {
//	    algorithm           smooth|resty
//	    weight_policy       strict|lenient
//	    slow_start          <duration>
//	    max_ejected_percent <0-100>
//	    recheck             <duration>
//	}
//
// The weights, one per static upstream in order, are checked here: a
// quoted "0", a negative, a fraction or a word is an error that names it.
func (p *Policy) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the policy's name
	var rawWeights []caddyfile.Token
	for d.NextArg() {
		rawWeights = append(rawWeights, d.Token())
	}
	for d.NextBlock(0) {
		opt := d.Val()
		var err error
		switch opt {
		case "algorithm":
			err = oneArg(d, &p.Algorithm)
		case "weight_policy":
			err = oneArg(d, &p.WeightPolicy)
		case "slow_start":
			err = durationArg(d, &p.SlowStart)
		case "recheck":
			err = durationArg(d, &p.Recheck)
		case "max_ejected_percent":
			var s string
			if err = oneArg(d, &s); err == nil {
				n, perr := strconv.Atoi(s)
				if perr != nil {
					return d.Errf("safewrr: max_ejected_percent: %q is not an integer", s)
				}
				p.MaxEjectedPercent = &n
			}
		default:
			return d.Errf("safewrr: unrecognized lb_policy option %q", opt)
		}
		if err != nil {
			return err
		}
	}
	pol, err := weightPolicy(p.WeightPolicy)
	if err != nil {
		return d.Err(err.Error())
	}
	for i, tok := range rawWeights {
		raw := tokenJSON(tok)
		if _, err := staticWeight(pol, raw); err != nil {
			return d.Errf("safewrr: weight #%d %s: %v", i+1, raw, err)
		}
		p.Weights = append(p.Weights, raw)
	}
	return nil
}

// tokenJSON is a Caddyfile token as the JSON value it stands for: a number
// when it is an unquoted JSON number, otherwise a string, so a quoted "0"
// stays a string.
func tokenJSON(tok caddyfile.Token) json.RawMessage {
	if !tok.Quoted() && json.Valid([]byte(tok.Text)) {
		var n json.Number
		if json.Unmarshal([]byte(tok.Text), &n) == nil {
			return json.RawMessage(tok.Text)
		}
	}
	b, _ := json.Marshal(tok.Text)
	return b
}

// UnmarshalCaddyfile sets up the upstream source from Caddyfile tokens:
//
//	dynamic safewrr <file|url> {
//	    name               <name>
//	    poll               <duration>
//	    poll_jitter        <0-1>
//	    max_backoff        <duration>
//	    fetch_timeout      <duration>
//	    registry_redirects same-host|any
//	    max_bytes          <n>
//	    max_drop           <0-1>
//	    policy             strict|lenient
//	    format             auto|map|discovery|kratos|consul|nacos|eureka|eds|apisix|endpointslice
//	    scale              <n>
//	    refuse_partial
//	    convention         registry|sdk|policy
//	    health             drain|reject|ignore
//	    service            <name>
//	    scheme             <scheme>
//	    port               <name>
//	    merge_services
//	    require_addresses
//	}
//
// The values are checked when the config loads; an unknown subdirective is
// an error that names it.
func (u *Upstreams) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the source's name
	if !d.NextArg() {
		return d.Err("safewrr: the registry file or http(s) URL is required")
	}
	u.Source = d.Val()
	if d.NextArg() {
		return d.Errf("safewrr: one registry expected, got also %q", d.Val())
	}
	for d.NextBlock(0) {
		opt := d.Val()
		var err error
		switch opt {
		case "name":
			err = oneArg(d, &u.Name)
		case "poll":
			err = durationArg(d, &u.Poll)
		case "max_backoff":
			err = durationArg(d, &u.MaxBackoff)
		case "fetch_timeout":
			err = durationArg(d, &u.FetchTimeout)
		case "registry_redirects":
			err = oneArg(d, &u.RegistryRedirects)
		case "policy":
			err = oneArg(d, &u.Policy)
		case "format":
			err = oneArg(d, &u.Format)
		case "convention":
			err = oneArg(d, &u.Convention)
		case "health":
			err = oneArg(d, &u.Health)
		case "service":
			err = oneArg(d, &u.Service)
		case "scheme":
			err = oneArg(d, &u.Scheme)
		case "port":
			err = oneArg(d, &u.Port)
		case "poll_jitter":
			var f float64
			if err = floatArg(d, &f); err == nil {
				u.PollJitter = &f
			}
		case "max_drop":
			err = floatArg(d, &u.MaxDrop)
		case "max_bytes":
			var s string
			if err = oneArg(d, &s); err == nil {
				n, perr := strconv.ParseInt(s, 10, 64)
				if perr != nil || n <= 0 {
					return d.Errf("safewrr: max_bytes: %q is not a positive integer", s)
				}
				u.MaxBytes = n
			}
		case "scale":
			var s string
			if err = oneArg(d, &s); err == nil {
				n, perr := strconv.ParseUint(s, 10, 32)
				if perr != nil {
					return d.Errf("safewrr: scale: %q is not an integer from 0 to %d", s, uint32(1<<32-1))
				}
				u.Scale = uint32(n)
			}
		case "refuse_partial":
			err = flagArg(d, &u.RefusePartial)
		case "merge_services":
			err = flagArg(d, &u.MergeServices)
		case "require_addresses":
			err = flagArg(d, &u.RequireAddresses)
		default:
			return d.Errf("safewrr: unrecognized dynamic safewrr option %q", opt)
		}
		if err != nil {
			return err
		}
	}
	if _, _, err := u.feedOptions(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

func oneArg(d *caddyfile.Dispenser, dst *string) error {
	opt := d.Val()
	if !d.NextArg() {
		return d.Errf("safewrr: %s needs a value", opt)
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.Errf("safewrr: %s takes one value, got also %q", opt, d.Val())
	}
	return nil
}

func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	opt := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return d.Errf("safewrr: %s: %q is not a duration", opt, s)
	}
	*dst = caddy.Duration(v)
	if v < 0 && opt != "poll" {
		return d.Errf("safewrr: %s: %v must not be negative", opt, time.Duration(v))
	}
	return nil
}

func floatArg(d *caddyfile.Dispenser, dst *float64) error {
	opt := d.Val()
	var s string
	if err := oneArg(d, &s); err != nil {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return d.Errf("safewrr: %s: %q is not a number", opt, s)
	}
	*dst = v
	return nil
}

func flagArg(d *caddyfile.Dispenser, dst *bool) error {
	opt := d.Val()
	if d.NextArg() {
		return d.Errf("safewrr: %s takes no value, got %q", opt, d.Val())
	}
	*dst = true
	return nil
}
