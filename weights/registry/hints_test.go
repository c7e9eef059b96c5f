package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/weights"
	"github.com/safewrr/safewrr/weights/registry"
)

// eurekaXML is what Eureka answers /eureka/apps with unless the request
// asks for JSON.
const eurekaXML = `<?xml version="1.0" encoding="UTF-8"?>
<applications>
  <versions__delta>1</versions__delta>
  <application><name>SVC</name><instance><ipAddr>10.0.0.1</ipAddr></instance></application>
</applications>`

// TestXMLPayloadHint: an XML payload is a syntax error that says it is
// XML, and, when the format may be Eureka's, how to ask Eureka for JSON.
func TestXMLPayloadHint(t *testing.T) {
	tests := []struct {
		format  registry.Format
		payload string
		eureka  bool // the hint names Eureka's Accept header
	}{
		{registry.FormatAuto, eurekaXML, true},
		{registry.FormatEureka, eurekaXML, true},
		{registry.FormatEureka, "\n\t <applications/>", true},
		{registry.FormatNacos, eurekaXML, false},
		{registry.FormatMap, "<a/>", false},
	}
	for _, tt := range tests {
		_, r, err := registry.Decode(tt.format, []byte(tt.payload), registry.Options{})
		var pe *weights.PayloadError
		if !errors.As(err, &pe) || !errors.Is(err, weights.ErrSyntax) || r.Refused != nil {
			t.Fatalf("Decode(%s, XML) = %v; want a *PayloadError wrapping ErrSyntax", tt.format, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "the payload is XML, not JSON") {
			t.Errorf("Decode(%s, XML): %q does not say the payload is XML", tt.format, msg)
		}
		if got := strings.Contains(msg, "Accept: application/json"); got != tt.eureka {
			t.Errorf("Decode(%s, XML): %q names Eureka's Accept header: %v, want %v", tt.format, msg, got, tt.eureka)
		}
	}
	for _, payload := range []string{`{"a": 1,}`, `nodes: <a>`, ``} {
		_, _, err := registry.Decode(registry.FormatAuto, []byte(payload), registry.Options{})
		if err == nil || strings.Contains(err.Error(), "XML") {
			t.Errorf("Decode(%q) = %v; want a syntax error without the XML hint", payload, err)
		}
	}
}

// TestFractionHint: a fractional weight in a registry whose weights are
// integers says so, not that a scale would help; in Nacos, whose weights
// are floats, and with a scale set, the scale is what the message is about.
func TestFractionHint(t *testing.T) {
	for _, tpl := range registryTemplates {
		if tpl.format == registry.FormatNacos {
			continue
		}
		// A JSON number, also where the registry stores a string.
		payload := fill(tpl.key, tpl.text, `2.5`)
		_, r, err := registry.Decode(tpl.format, []byte(payload), registry.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tpl.format, err)
		}
		e := rejectedAt(r, 0)
		if e == nil || e.Reason != weights.ReasonFraction {
			t.Fatalf("%s weight 2.5: reject %v, want fraction", tpl.format, e)
		}
		if strings.Contains(e.Detail, "scale") || !strings.Contains(e.Detail, "reads integer weights") {
			t.Errorf("%s weight 2.5: detail %q; want it to say the registry's weights are integers", tpl.format, e.Detail)
		}
		// With a scale the user chose, the scale is what failed.
		_, r, _ = registry.Decode(tpl.format, []byte(fill(tpl.key, tpl.text, `2.55`)), registry.Options{Policy: weights.Policy{Scale: 10}})
		if e := rejectedAt(r, 0); e == nil || !strings.Contains(e.Detail, "after scaling by 10") {
			t.Errorf("%s weight 2.55, scale 10: reject %v, want the scale named", tpl.format, e)
		}
	}
	nacos := registryTemplates[3]
	_, r, _ := registry.Decode(registry.FormatNacos, []byte(fill(nacos.key, nacos.text, `0.005`)),
		registry.Options{Convention: registry.FollowPolicy})
	if e := rejectedAt(r, 0); e == nil || e.Reason != weights.ReasonFraction || !strings.Contains(e.Detail, "after scaling by 100") {
		t.Errorf("nacos 0.005 under FollowPolicy: reject %v, want a fraction after scaling by 100", e)
	}
}
