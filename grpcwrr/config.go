package grpcwrr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/serviceconfig"

	wrr "github.com/safewrr/safewrr/balancer"
	"github.com/safewrr/safewrr/weights"
)

// Config is the policy's configuration, parsed from the JSON object under
// "safewrr" in a service config's loadBalancingConfig. Every field is
// optional; an unknown field, a field given twice or a value of the wrong
// type is an error, never ignored or converted.
//
//	{
//	  "algorithm": "smooth",      // or "resty"; default "smooth"
//	  "slowStart": "30s",         // Go duration, >= 0; default "0s" (off)
//	  "maxEjectedPercent": 50,    // integer 0..100; default 50
//	  "weightPolicy": "strict",   // or "lenient"; default "strict"
//	  "randomStart": false        // start each channel at a random point of the cycle
//	}
type Config struct {
	serviceconfig.LoadBalancingConfig `json:"-"`

	// Algorithm is the pick sequence: Smooth (nginx's) or Resty
	// (lua-resty-balancer's), from package github.com/safewrr/safewrr/balancer.
	Algorithm wrr.Algorithm
	// SlowStart is the window over which an endpoint that joins, or comes
	// back from ejection, ramps up to its full weight; 0 turns it off.
	SlowStart time.Duration
	// MaxEjectedPercent caps the share of non-drained endpoints that are
	// ejected at once for connection failures (see the package comment).
	MaxEjectedPercent int
	// WeightPolicy judges the weights a resolver attached with SetWeight or
	// SetEntry: weights.Strict() or weights.Lenient(). The nodes of the
	// package's own resolver were judged by its feed (the target's policy
	// parameter) and are taken as they are.
	WeightPolicy weights.Policy
	// WeightPolicyName is "strict" or "lenient", the name WeightPolicy was
	// chosen by.
	WeightPolicyName string
	// RandomStart starts each channel's balancer at a random point of the
	// cycle, so that many clients built from the same registry do not all
	// send their first requests to the same endpoint.
	RandomStart bool
}

// DefaultConfig returns the configuration used for an empty object "{}".
func DefaultConfig() *Config {
	return &Config{
		Algorithm:         wrr.Smooth,
		MaxEjectedPercent: wrr.DefaultMaxEjectedPercent,
		WeightPolicy:      weights.Strict(),
		WeightPolicyName:  "strict",
	}
}

var configFields = []string{"algorithm", "slowStart", "maxEjectedPercent", "weightPolicy", "randomStart"}

// ParseConfig parses the JSON object of the policy's service config entry.
// Errors start with "grpcwrr:" and name the field.
func ParseConfig(js []byte) (*Config, error) {
	cfg := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("grpcwrr: config is not JSON: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("grpcwrr: config must be a JSON object, got %s", bytes.TrimSpace(js))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("grpcwrr: config is not JSON: %v", err)
		}
		key := tok.(string) // inside an object the decoder only yields string keys here
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("grpcwrr: config field %q: %v", key, err)
		}
		if seen[key] {
			return nil, fmt.Errorf("grpcwrr: config field %q given twice", key)
		}
		seen[key] = true
		if err := cfg.set(key, val); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("grpcwrr: config is not JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("grpcwrr: config has data after the object")
	}
	return cfg, nil
}

func (c *Config) set(key string, val json.RawMessage) error {
	switch key {
	case "algorithm":
		s, err := stringField(key, val, `"smooth" or "resty"`)
		if err != nil {
			return err
		}
		a, err := wrr.ParseAlgorithm(s)
		if err != nil {
			return fmt.Errorf("grpcwrr: algorithm must be \"smooth\" or \"resty\", got %q", s)
		}
		c.Algorithm = a
	case "slowStart":
		s, err := stringField(key, val, `a duration such as "30s"`)
		if err != nil {
			return err
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("grpcwrr: slowStart must be a duration such as \"30s\", got %q", s)
		}
		if d < 0 {
			return fmt.Errorf("grpcwrr: slowStart must not be negative, got %q", s)
		}
		c.SlowStart = d
	case "maxEjectedPercent":
		var n json.Number
		if err := json.Unmarshal(val, &n); err != nil || !isJSONNumber(val) {
			return fmt.Errorf("grpcwrr: maxEjectedPercent must be an integer from 0 to 100, got %s", val)
		}
		p, err := strconv.Atoi(n.String())
		if err != nil || p < 0 || p > 100 {
			return fmt.Errorf("grpcwrr: maxEjectedPercent must be an integer from 0 to 100, got %s", n)
		}
		c.MaxEjectedPercent = p
	case "weightPolicy":
		s, err := stringField(key, val, `"strict" or "lenient"`)
		if err != nil {
			return err
		}
		switch s {
		case "strict":
			c.WeightPolicy = weights.Strict()
		case "lenient":
			c.WeightPolicy = weights.Lenient()
		default:
			return fmt.Errorf("grpcwrr: weightPolicy must be \"strict\" or \"lenient\", got %q", s)
		}
		c.WeightPolicyName = s
	case "randomStart":
		var b bool
		if err := json.Unmarshal(val, &b); err != nil {
			return fmt.Errorf("grpcwrr: randomStart must be true or false, got %s", val)
		}
		c.RandomStart = b
	default:
		return fmt.Errorf("grpcwrr: unknown config field %q (known: %s)", key, strings.Join(configFields, ", "))
	}
	return nil
}

func stringField(key string, val json.RawMessage, want string) (string, error) {
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return "", fmt.Errorf("grpcwrr: %s must be %s, got %s", key, want, val)
	}
	return s, nil
}

// isJSONNumber reports whether val is a JSON number token (json.Number also
// accepts a quoted string of digits, which a config must not coerce).
func isJSONNumber(val json.RawMessage) bool {
	return len(val) > 0 && (val[0] == '-' || (val[0] >= '0' && val[0] <= '9'))
}

// options turns the config into the balancer's options.
func (c *Config) options() []wrr.Option {
	opts := []wrr.Option{
		wrr.WithAlgorithm(c.Algorithm),
		wrr.WithMaxEjectedPercent(c.MaxEjectedPercent),
	}
	if c.SlowStart > 0 {
		opts = append(opts, wrr.WithSlowStart(c.SlowStart))
	}
	return opts
}
