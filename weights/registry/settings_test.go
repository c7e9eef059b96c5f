package registry_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

func TestSettingsSet(t *testing.T) {
	tests := []struct {
		name, value string
		format      registry.Format
		want        registry.Options
	}{
		{"policy", "strict", registry.FormatAuto, registry.Options{}},
		{"policy", "lenient", registry.FormatAuto, registry.Options{Policy: weights.Lenient()}},
		{"format", "auto", registry.FormatAuto, registry.Options{}},
		{"format", "NACOS", registry.FormatNacos, registry.Options{}},
		{"format", "map", registry.FormatMap, registry.Options{}},
		{"scale", "0", registry.FormatAuto, registry.Options{}},
		{"scale", "4294967295", registry.FormatAuto, registry.Options{Policy: weights.Policy{Scale: 1<<32 - 1}}},
		{"refuse-partial", "true", registry.FormatAuto, registry.Options{Policy: weights.Policy{Partial: weights.RefuseWhole}}},
		{"refuse-partial", "false", registry.FormatAuto, registry.Options{}},
		{"convention", "registry", registry.FormatAuto, registry.Options{Convention: registry.FollowRegistry}},
		{"convention", "sdk", registry.FormatAuto, registry.Options{Convention: registry.FollowSDK}},
		{"convention", "policy", registry.FormatAuto, registry.Options{Convention: registry.FollowPolicy}},
		{"health", "drain", registry.FormatAuto, registry.Options{Health: registry.HealthDrain}},
		{"health", "reject", registry.FormatAuto, registry.Options{Health: registry.HealthReject}},
		{"health", "ignore", registry.FormatAuto, registry.Options{Health: registry.HealthIgnore}},
		{"service", "app", registry.FormatAuto, registry.Options{Service: "app"}},
		{"scheme", "grpc", registry.FormatAuto, registry.Options{Scheme: "grpc"}},
		{"port", "http", registry.FormatAuto, registry.Options{Port: "http"}},
		{"merge-services", "true", registry.FormatAuto, registry.Options{MergeServices: true}},
		{"merge-services", "false", registry.FormatAuto, registry.Options{}},
		{"require-addresses", "true", registry.FormatAuto, registry.Options{Policy: weights.Policy{IDs: weights.IDsAddress}}},
		{"require-addresses", "false", registry.FormatAuto, registry.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var s registry.Settings
			if err := s.Set(tt.name, tt.value); err != nil {
				t.Fatalf("Set(%q, %q) error %v", tt.name, tt.value, err)
			}
			if f, o := s.Format(), s.Options(); f != tt.format || !reflect.DeepEqual(o, tt.want) {
				t.Errorf("Set(%q, %q): Format() = %q, Options() = %+v; want %q, %+v", tt.name, tt.value, f, o, tt.format, tt.want)
			}
		})
	}
}

func TestSettingsSetErrors(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"policy", "loose", `registry: policy must be strict or lenient, got "loose"`},
		{"policy", "Strict", `registry: policy must be strict or lenient, got "Strict"`},
		{"format", "zookeeper", `registry: format: unknown payload format "zookeeper": want auto, map, `},
		{"scale", "-2", `registry: scale must be an integer from 0 to 4294967295, got "-2"`},
		{"scale", "4294967296", `registry: scale must be an integer from 0 to 4294967295, got "4294967296"`},
		{"scale", "", `registry: scale must be an integer from 0 to 4294967295, got ""`},
		{"refuse-partial", "1", `registry: refuse-partial must be true or false, got "1"`},
		{"convention", "sdk2", `registry: convention must be registry, sdk or policy, got "sdk2"`},
		{"health", "up", `registry: health must be drain, reject or ignore, got "up"`},
		{"merge-services", "yes", `registry: merge-services must be true or false, got "yes"`},
		{"require-addresses", "", `registry: require-addresses must be true or false, got ""`},
		{"refuse_partial", "true", `registry: unknown decode setting "refuse_partial"`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var s registry.Settings
			err := s.Set(tt.name, tt.value)
			var se *registry.SettingError
			if !errors.As(err, &se) || se.Name != tt.name || se.Value != tt.value {
				t.Fatalf("Set(%q, %q) = %v, want a *SettingError naming them", tt.name, tt.value, err)
			}
			if got := err.Error(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
				t.Errorf("Set(%q, %q) = %q, want it to start %q", tt.name, tt.value, got, tt.want)
			}
			if !reflect.DeepEqual(s, registry.Settings{}) {
				t.Errorf("Set(%q, %q) failed but changed the settings", tt.name, tt.value)
			}
		})
	}
	var s registry.Settings
	if err := s.Set("format", "eureka2"); !errors.Is(err, registry.ErrUnknownFormat) {
		t.Errorf("Set(format, eureka2) = %v, want it to wrap ErrUnknownFormat", err)
	}
}

// TestSettingNamesDefaults sets every setting to its listed default: the
// result is the zero Settings' result, and every name is settable.
func TestSettingNamesDefaults(t *testing.T) {
	var zero, s registry.Settings
	names := registry.SettingNames()
	if len(names) != 11 {
		t.Errorf("SettingNames() has %d settings, want 11", len(names))
	}
	for _, n := range names {
		if n.Help == "" {
			t.Errorf("setting %q has no help", n.Name)
		}
		if n.Bool && n.Default != "false" {
			t.Errorf("switch %q defaults to %q", n.Name, n.Default)
		}
		if err := s.Set(n.Name, n.Default); err != nil {
			t.Errorf("Set(%q, default %q) error %v", n.Name, n.Default, err)
		}
	}
	if s.Format() != zero.Format() || !reflect.DeepEqual(s.Options(), zero.Options()) {
		t.Errorf("defaults give %q %+v, zero Settings %q %+v", s.Format(), s.Options(), zero.Format(), zero.Options())
	}
	names[0].Name = "changed"
	if registry.SettingNames()[0].Name != "policy" {
		t.Error("SettingNames returns the package's own table")
	}
}

// TestSettingsOrder: policy set after scale keeps the scale.
func TestSettingsOrder(t *testing.T) {
	var s registry.Settings
	for _, kv := range [][2]string{{"scale", "100"}, {"refuse-partial", "true"}, {"policy", "lenient"}, {"policy", "strict"}, {"policy", "lenient"}} {
		if err := s.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := weights.Lenient()
	want.Scale, want.Partial = 100, weights.RefuseWhole
	if got := s.Options().Policy; !reflect.DeepEqual(got, want) {
		t.Errorf("Policy = %+v, want %+v", got, want)
	}
}
