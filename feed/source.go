package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/safewrr/safewrr/internal/regfile"
)

// A Source produces the registry's current payload. Fetch returns at most
// maxBytes+1 bytes (a longer payload is refused by the feed, so a source
// need not read beyond it). String names the source for logs and status
// pages; it must not reveal secrets.
type Source interface {
	Fetch(ctx context.Context, maxBytes int64) ([]byte, error)
	String() string
}

// File returns a Source that reads the file at path on every poll. The path
// must name a regular file (a link to one is followed): it is opened
// non-blocking and judged once open, so a FIFO, a device (such as
// /dev/zero), a directory or a socket, present at the first poll or
// swapped in later, is a fetch error that says what it is, never waited on;
// so is a path that does not resolve (a missing file, a dangling link, a
// loop of links). At most maxBytes+1 bytes are read.
func File(path string) Source { return fileSource(path) }

type fileSource string

func (s fileSource) String() string { return string(s) }

func (s fileSource) Fetch(ctx context.Context, maxBytes int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return regfile.Read(string(s), maxBytes)
}

// Func returns a Source that calls fetch on every poll; name is what
// String returns.
func Func(name string, fetch func(ctx context.Context) ([]byte, error)) Source {
	return funcSource{name: name, fetch: fetch}
}

type funcSource struct {
	name  string
	fetch func(ctx context.Context) ([]byte, error)
}

func (s funcSource) String() string { return s.name }

func (s funcSource) Fetch(ctx context.Context, _ int64) ([]byte, error) { return s.fetch(ctx) }

// readLimited reads r up to maxBytes+1 bytes.
func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		return io.ReadAll(r)
	}
	return io.ReadAll(io.LimitReader(r, maxBytes+1))
}

// DefaultFetchTimeout bounds one HTTP fetch unless URLOptions.Timeout says
// otherwise.
const DefaultFetchTimeout = 5 * time.Second

// URLOptions configure an HTTP source (URL).
type URLOptions struct {
	// Timeout bounds one fetch, redirects and body included. 0 means
	// DefaultFetchTimeout.
	Timeout time.Duration
	// AllowOtherHosts lets the registry redirect to another host (or from
	// https to http). By default a redirect must stay on the same scheme,
	// host and port; any other is an error.
	AllowOtherHosts bool
	// Transport sends the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Header is added to every request (for example Authorization). An
	// Accept: application/json header is sent unless Header sets Accept.
	Header http.Header
}

// maxRedirects is how many redirects one fetch follows.
const maxRedirects = 5

// URL returns a Source that fetches rawURL with a GET on every poll and
// takes a 200 response's body as the payload; any other status is an error.
// rawURL must be an absolute http or https URL. Its String, and every error
// it returns, show the URL redacted (see Redact): user info, query and
// fragment never appear in logs or status pages.
func URL(rawURL string, o URLOptions) (Source, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("feed: registry URL %s: %v", Redact(rawURL), redactErr(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("feed: registry URL %s: the scheme must be http or https", Redact(rawURL))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("feed: registry URL %s: no host", Redact(rawURL))
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("feed: URL timeout %v must not be negative", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultFetchTimeout
	}
	s := &urlSource{raw: rawURL, u: u, shown: Redact(rawURL), opts: o}
	s.client = &http.Client{
		Transport:     o.Transport,
		Timeout:       o.Timeout,
		CheckRedirect: s.checkRedirect,
	}
	return s, nil
}

type urlSource struct {
	raw    string
	u      *url.URL
	shown  string
	opts   URLOptions
	client *http.Client
}

func (s *urlSource) String() string { return s.shown }

func (s *urlSource) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("feed: stopped after %d redirects", maxRedirects)
	}
	if s.opts.AllowOtherHosts {
		return nil
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("feed: the registry redirected to another host (%s); allow it with URLOptions.AllowOtherHosts", Redact(req.URL.String()))
	}
	return nil
}

func (s *urlSource) Fetch(ctx context.Context, maxBytes int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.raw, nil)
	if err != nil {
		return nil, redactErr(err)
	}
	for k, v := range s.opts.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, redactErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("registry answered %s", resp.Status)
	}
	data, err := readLimited(resp.Body, maxBytes)
	if err != nil {
		return nil, redactErr(err)
	}
	return data, nil
}

// redactErr redacts the URL of a *url.Error (which net/http returns with the
// whole URL, query included) wherever it is in err's chain.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = Redact(ue.URL)
		if ue.Err != nil {
			c.Err = redactErr(ue.Err)
		}
		if ue == err {
			return &c
		}
		// Deeper in the chain: rebuild the message without the secret.
		return errors.New(strings.ReplaceAll(err.Error(), ue.URL, c.URL))
	}
	return err
}

// Redact returns rawURL fit to print: user info, query and fragment are
// replaced by "REDACTED" (http://REDACTED@host/path?REDACTED). A string that
// does not parse as a URL with a scheme is returned as it is when it has no
// '@', '?' or '#', and as "REDACTED" otherwise.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		if strings.ContainsAny(rawURL, "@?#") {
			return "REDACTED"
		}
		return rawURL
	}
	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString("REDACTED@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?REDACTED")
	}
	if u.Fragment != "" || strings.Contains(rawURL, "#") {
		b.WriteString("#REDACTED")
	}
	return b.String()
}
