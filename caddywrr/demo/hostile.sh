#!/usr/bin/env bash
# Runs a Caddy built with caddywrr (CADDY, default ./caddy) with the README's
# Caddyfile in front of three loopback backends (backend.py) and writes hostile
# registry payloads under it; prints what each backend served and what the
# admin API says after each write. Needs curl and python3.
set -u
CADDY=$(realpath "${CADDY:-./caddy}")
HERE=$(cd "$(dirname "$0")" && pwd)
D=$(mktemp -d); cd "$D"
cleanup() { for f in caddy.pid a.pid b.pid c.pid; do [[ -s $f ]] && kill "$(cat $f)" 2>/dev/null; done; rm -rf "$D"; }
trap cleanup EXIT
for n in a b c; do python3 "$HERE/backend.py" $n & echo $! > $n.pid; done
for i in $(seq 50); do [[ -s a.port && -s b.port && -s c.port ]] && break; sleep 0.1; done
A=127.0.0.1:$(cat a.port); B=127.0.0.1:$(cat b.port); C=127.0.0.1:$(cat c.port)
reg() { printf '%s' "$1" > registry.tmp && mv registry.tmp registry.json; }
reg "{\"$A\": 5, \"$B\": 3, \"$C\": 2}"
cat > Caddyfile <<EOC
{
	admin unix/$D/admin.sock
	persist_config off
	auto_https off
	storage file_system $D/storage
}

http:// {
	bind unix/$D/http.sock
	reverse_proxy {
		dynamic safewrr $D/registry.json {
			poll 200ms
		}
		lb_policy safewrr
	}
}
EOC
"$CADDY" run --config Caddyfile --adapter caddyfile > caddy.log 2>&1 & echo $! > caddy.pid
for i in $(seq 100); do [[ -S http.sock ]] && break; sleep 0.1; done
counts() { # n requests, prints counts and failures
  local n=$1 out fails=0; declare -A c=()
  for i in $(seq $n); do
    out=$(curl -s -w ' %{http_code}' --unix-socket http.sock http://localhost/)
    if [[ ${out##* } != 200 ]]; then fails=$((fails+1)); else c[${out%% *}]=$(( ${c[${out%% *}]:-0} + 1 )); fi
  done
  echo "a=${c[a]:-0} b=${c[b]:-0} c=${c[c]:-0} failed=$fails"
}
polls() { curl -s --unix-socket admin.sock 'http://localhost/safewrr/status' | python3 -c 'import json,sys; s=json.load(sys.stdin)["sources"][0]; print(s["status"]["polls"])'; }
settle() { local p; p=$(polls); for i in $(seq 100); do (( $(polls) >= p + 2 )) && return; sleep 0.1; done; echo "no poll"; }
summary() { curl -s --unix-socket admin.sock 'http://localhost/safewrr/status' | python3 -c 'import json,sys; s=json.load(sys.stdin)["sources"][0]; st=s["status"]; print("  serving", [ (n["id"].split(":")[1], n["weight"]) for n in s["serving"]], "gen", st["generation"], "last_poll", st["last_poll"], "refused", (st.get("last_refused") or {}).get("stage"), "rejects", st["reject_reasons"])'; }
echo "valid {5,3,2}: $(counts 100)"; summary
step() { reg "$2"; settle; echo "$1: $(counts $3)"; summary; }
step 'c is "0"'   "{\"$A\": 5, \"$B\": 3, \"$C\": \"0\"}" 80
step 'b is NaN'   "{\"$A\": 5, \"$B\": NaN, \"$C\": 2}" 70
step 'b is -1'    "{\"$A\": 5, \"$B\": -1, \"$C\": 2}" 70
step 'garbage'    "{\"$A\": 5, \"$B\": 0x1F, \"$C\": 2}" 70
step 'all zero'   "{\"$A\": 0, \"$B\": 0, \"$C\": 0}" 70
step 'truncated'  "{\"$A\": 5, \"$B\": 3, \"$C\":" 70
step 'empty file' "" 70
step 'empty set'  "{}" 70
step 'back'       "{\"$A\": 5, \"$B\": 3, \"$C\": 2}" 100
echo "--- flapping the file every 50ms while 300 requests run"
( for i in $(seq 30); do for p in "{\"$A\": 5, \"$B\": \"0\", \"$C\": 2}" "{\"$A\": 5, \"$B\": NaN" "" "{\"$A\": 5, \"$B\": 3, \"$C\": 2}"; do reg "$p"; sleep 0.05; done; done ) &
flapper=$!
echo "during flaps: $(counts 300)"
wait $flapper; reg "{\"$A\": 5, \"$B\": 3, \"$C\": 2}"; settle
echo "after: $(counts 100)"; summary
echo "--- caddy log lines from the registry"
grep -c '"registry: update refused' caddy.log | sed 's/^/refusal lines: /'
grep -c '"registry: node rejected' caddy.log | sed 's/^/reject lines: /'
grep -m3 'registry: update refused\|registry: node rejected' caddy.log | cut -c1-300
