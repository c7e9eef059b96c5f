package weights

import "testing"

// canonicalIPv4 is a shortcut past idProblem and addressID: every id it
// takes must pass both unchanged, and it must take the plain ones.
func TestCanonicalIPv4(t *testing.T) {
	taken := []string{"10.0.0.1:80", "1.2.3.4:1", "127.0.0.1:65535", "169.254.0.1:8080", "223.255.255.255:443", "1.0.0.0:9"}
	for _, id := range taken {
		if !canonicalIPv4(id) {
			t.Errorf("canonicalIPv4(%q) = false, want true", id)
		}
	}
	left := []string{
		"", ":", ":80", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:00", "10.0.0.1:080", "10.0.0.1:65536",
		"10.0.0.1:+80", "10.0.0.1:-80", "10.0.0.1:8_0", "10.0.0.1: 80", "10.0.0.1:80 ", " 10.0.0.1:80", "10.0.0.1:80\n",
		"010.0.0.1:80", "10.0.0:80", "10.0.0.1.5:80", "10.0.0.256:80", "0x0a.0.0.1:80", "10.0.0.1%eth0:80",
		"0.0.0.0:80", "0.1.2.3:80", "224.0.0.1:80", "239.1.1.1:80", "255.255.255.255:80",
		"[::ffff:10.0.0.1]:80", "[10.0.0.1]:80", "[fd00::1]:80", "localhost:80", "Backend:80", "10.0.0.1:80:80",
	}
	for _, id := range left {
		if canonicalIPv4(id) {
			t.Errorf("canonicalIPv4(%q) = true, want false", id)
		}
	}
	for _, id := range append(taken, left...) {
		checkShortcut(t, id)
	}
}

// checkShortcut fails when canonicalIPv4 takes an id that the full path
// would reject or rewrite.
func checkShortcut(t *testing.T, id string) {
	t.Helper()
	if !canonicalIPv4(id) {
		return
	}
	if p := idProblem(id); len(p) != 0 {
		t.Fatalf("canonicalIPv4 takes %q, idProblem says %s", id, p)
	}
	if c, p := addressID(id); c != id || len(p) != 0 {
		t.Fatalf("canonicalIPv4 takes %q, addressID gives %q, %q", id, c, p)
	}
}

// FuzzCanonicalIPv4 looks for an id the shortcut takes and the full path
// does not.
func FuzzCanonicalIPv4(f *testing.F) {
	for _, s := range []string{"10.0.0.1:80", "0.0.0.0:1", "1.2.3.4:080", "255.255.255.255:9", "1.2.3.4:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		checkShortcut(t, id)
	})
}
