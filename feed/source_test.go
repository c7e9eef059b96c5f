package feed_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safewrr/safewrr/feed"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://user:s3cr3t@host:80/reg?token=abc#frag", "http://REDACTED@host:80/reg?REDACTED#REDACTED"},
		{"https://host/discovery/fetch?appid=demo", "https://host/discovery/fetch?REDACTED"},
		{"http://host/reg", "http://host/reg"},
		{"http://tok@host", "http://REDACTED@host"},
		{"nodes.json", "nodes.json"},
		{"/etc/registry/nodes.json", "/etc/registry/nodes.json"},
		{"::not a url?token=x", "REDACTED"},
	} {
		if got := feed.Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q want %q", c.in, got, c.want)
		}
	}
}

const secretURL = "user:s3cr3t@%s/reg?token=t0p"

func hasSecret(s string) bool {
	return strings.Contains(s, "s3cr3t") || strings.Contains(s, "t0p") || strings.Contains(s, "user")
}

func TestURLSourceRedactsEverywhere(t *testing.T) {
	// A registry that is down: the error names the URL.
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	src, err := feed.URL("http://"+strings.Replace(secretURL, "%s", addr, 1), feed.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasSecret(src.String()) {
		t.Fatalf("String() = %q", src.String())
	}
	_, ferr := src.Fetch(context.Background(), 1<<20)
	if ferr == nil || hasSecret(ferr.Error()) || !strings.Contains(ferr.Error(), "REDACTED") {
		t.Fatalf("Fetch error %v", ferr)
	}
	logs := &syncBuffer{}
	f, err := feed.New(context.Background(), src, feed.WithLogger(newTextLogger(logs)))
	if err != nil {
		t.Fatal(err)
	}
	st := f.Status()
	if hasSecret(st.Source) || hasSecret(st.LastError) || st.LastError == "" {
		t.Fatalf("status shows a secret: %q %q", st.Source, st.LastError)
	}
	if l := logs.take(); hasSecret(l) || l == "" {
		t.Fatalf("log shows a secret:\n%s", l)
	}
	for _, bad := range []string{"ftp://host/x", "http:///x", "http://host/%zz?token=t0p"} {
		if _, err := feed.URL(bad, feed.URLOptions{}); err == nil || hasSecret(err.Error()) {
			t.Errorf("URL(%q) error %v", bad, err)
		}
	}
}

func TestURLSourceRedirects(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"x:1": 1}`))
	}))
	defer other.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/final":
			if r.Header.Get("Accept") != "application/json" {
				t.Errorf("Accept %q", r.Header.Get("Accept"))
			}
			w.Write([]byte(`{"a:1": 1}`))
		case "/away":
			http.Redirect(w, r, other.URL+"/reg?token=t0p", http.StatusFound)
		default:
			http.Error(w, "no", http.StatusNotFound)
		}
	}))
	defer reg.Close()
	fetch := func(path string, o feed.URLOptions) (string, error) {
		src, err := feed.URL(reg.URL+path, o)
		if err != nil {
			t.Fatal(err)
		}
		data, err := src.Fetch(context.Background(), 1<<20)
		return string(data), err
	}
	if got, err := fetch("/same", feed.URLOptions{}); err != nil || got != `{"a:1": 1}` {
		t.Fatalf("same-host redirect: %q %v", got, err)
	}
	_, err := fetch("/away", feed.URLOptions{})
	if err == nil || !strings.Contains(err.Error(), "another host") || hasSecret(err.Error()) {
		t.Fatalf("redirect to another host: %v", err)
	}
	if got, err := fetch("/away", feed.URLOptions{AllowOtherHosts: true}); err != nil || got != `{"x:1": 1}` {
		t.Fatalf("allowed redirect: %q %v", got, err)
	}
	if _, err := fetch("/missing", feed.URLOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodes.json")
	if err := os.WriteFile(path, []byte(`{"a:1": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := feed.File(path)
	if data, err := src.Fetch(context.Background(), 1<<20); err != nil || string(data) != `{"a:1": 1}` {
		t.Fatalf("Fetch = %q, %v", data, err)
	}
	if data, err := src.Fetch(context.Background(), 4); err != nil || len(data) != 5 {
		t.Fatalf("Fetch with a limit of 4 = %q, %v; want 5 bytes (one past the limit)", data, err)
	}
	if _, err := feed.File(dir).Fetch(context.Background(), 1<<20); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("a directory: %v", err)
	}
}

// A URL source reads one byte past the limit and no more, so the feed can
// tell a payload of exactly the limit from a longer one.
func TestURLSourceReadsOnePastTheLimit(t *testing.T) {
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("0123456789"))
	}))
	defer reg.Close()
	src, err := feed.URL(reg.URL, feed.URLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for limit, want := range map[int64]string{4: "01234", 9: "0123456789", 10: "0123456789", 100: "0123456789"} {
		if data, err := src.Fetch(context.Background(), limit); err != nil || string(data) != want {
			t.Errorf("Fetch(limit %d) = %q, %v; want %q", limit, data, err, want)
		}
	}
}
