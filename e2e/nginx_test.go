//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's nginx-light loads ngx_lua as a dynamic module (through
// /etc/nginx/modules-enabled for the packaged service). The tests run their
// own nginx with their own configuration, so they load the modules by
// absolute path: ndk first, then lua.
const nginxModules = `load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
`

// nginx is one nginx instance run by a test: master plus one worker, every
// path under a temporary prefix, listening on 127.0.0.1 only.
type nginx struct {
	dir  string
	port int
	proc *proc
}

// url returns a URL on the nginx listener.
func (n *nginx) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", n.port, path) }

// master is the pid of the nginx master process (the process the test started).
func (n *nginx) master() int { return n.proc.cmd.Process.Pid }

// worker returns the pid of the single worker process.
func (n *nginx) worker(t *testing.T) int {
	t.Helper()
	var pids []int
	waitFor(t, "one nginx worker", 5*time.Second, 20*time.Millisecond, func() bool {
		pids = childPIDs(n.master())
		return len(pids) == 1
	})
	return pids[0]
}

// startNginx writes nginx.conf into a new temporary prefix with the given
// http-block body (which may use {{PORT}} and {{DIR}}), starts nginx in the
// foreground with one worker and waits until it accepts connections.
func startNginx(t *testing.T, httpBody string, files map[string]string) *nginx {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatalf("nginx is not installed (Debian: apt-get install nginx-light libnginx-mod-http-lua luajit2 lua-cjson): %v", err)
	}
	dir := tempDir(t)
	n := &nginx{dir: dir, port: freePort(t)}
	for _, sub := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repl := strings.NewReplacer("{{PORT}}", fmt.Sprint(n.port), "{{DIR}}", dir)
	conf := nginxModules + repl.Replace(`
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path {{DIR}}/tmp/body;
  proxy_temp_path {{DIR}}/tmp/proxy;
  fastcgi_temp_path {{DIR}}/tmp/fastcgi;
  uwsgi_temp_path {{DIR}}/tmp/uwsgi;
  scgi_temp_path {{DIR}}/tmp/scgi;
`+httpBody+`
}
`)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	global := fmt.Sprintf("daemon off; master_process on; worker_processes 1; pid %s; error_log stderr notice;",
		filepath.Join(dir, "nginx.pid"))
	n.proc = startProc(t, "nginx", "-p", dir+"/", "-c", confPath, "-g", global)
	addr := fmt.Sprintf("127.0.0.1:%d", n.port)
	waitFor(t, "nginx to listen on "+addr, 10*time.Second, 20*time.Millisecond, func() bool {
		select {
		case <-n.proc.done:
			t.Fatalf("nginx exited:\n%s", n.proc.output.String())
		default:
		}
		return dialable(addr)
	})
	return n
}
