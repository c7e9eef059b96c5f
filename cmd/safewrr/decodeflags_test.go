package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// decodeOptions parses args with only the decode flags registered.
func decodeOptions(t *testing.T, args ...string) (registry.Format, registry.Options, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := addDecodeFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return d.options()
}

func TestDecodeFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		format registry.Format
		want   registry.Options
	}{
		{"defaults", nil, registry.FormatAuto, registry.Options{}},
		{"lenient", []string{"--policy", "lenient"}, registry.FormatAuto,
			registry.Options{Policy: weights.Lenient()}},
		{"format", []string{"--format", "NACOS"}, registry.FormatNacos, registry.Options{}},
		{"scale and refuse", []string{"--scale", "100", "--refuse-partial"}, registry.FormatAuto,
			registry.Options{Policy: weights.Policy{Scale: 100, Partial: weights.RefuseWhole}}},
		{"convention policy", []string{"--convention", "policy"}, registry.FormatAuto,
			registry.Options{Convention: registry.FollowPolicy}},
		{"convention sdk", []string{"--convention", "sdk"}, registry.FormatAuto,
			registry.Options{Convention: registry.FollowSDK}},
		{"require addresses", []string{"--require-addresses"}, registry.FormatAuto,
			registry.Options{Policy: weights.Policy{IDs: weights.IDsAddress}}},
		{"merge services", []string{"--merge-services"}, registry.FormatAuto,
			registry.Options{MergeServices: true}},
		{"health reject", []string{"--health", "reject"}, registry.FormatAuto,
			registry.Options{Health: registry.HealthReject}},
		{"health ignore", []string{"--health", "ignore"}, registry.FormatAuto,
			registry.Options{Health: registry.HealthIgnore}},
		{"service scheme port", []string{"--service", "app", "--scheme", "grpc", "--port", "http"}, registry.FormatAuto,
			registry.Options{Service: "app", Scheme: "grpc", Port: "http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, o, err := decodeOptions(t, tt.args...)
			if err != nil {
				t.Fatalf("options(%q) error %v", tt.args, err)
			}
			if f != tt.format || !reflect.DeepEqual(o, tt.want) {
				t.Errorf("options(%q) = %q, %+v; want %q, %+v", tt.args, f, o, tt.format, tt.want)
			}
		})
	}
}

func TestDecodeFlagsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--policy", "loose"}, `--policy must be strict or lenient, got "loose"`},
		{[]string{"--format", "zookeeper"}, `--format: registry: unknown payload format "zookeeper"`},
		{[]string{"--scale", "4294967296"}, `--scale must be an integer from 0 to 4294967295, got "4294967296"`},
		{[]string{"--convention", "sdk2"}, `--convention must be registry, sdk or policy, got "sdk2"`},
		{[]string{"--health", "up"}, `--health must be drain, reject or ignore, got "up"`},
	}
	for _, tt := range tests {
		_, _, err := decodeOptions(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("options(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
		}
	}
}
