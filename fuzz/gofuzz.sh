#!/usr/bin/env bash
# Run safewrr's fuzz targets under go-fuzz.
#
#   fuzz/gofuzz.sh TARGET [go-fuzz flags]    build, seed and run one target
#   fuzz/gofuzz.sh build TARGET              only build .gofuzz/TARGET-fuzz.zip
#   fuzz/gofuzz.sh import TARGET             turn crashers into seed files
#   fuzz/gofuzz.sh install                   only install go-fuzz and go-fuzz-build
#
# TARGET is Weights, WeightsTyped, Balancer, LuaModule or Differential (any
# case). The work directory is .gofuzz/TARGET at the repository root
# (corpus/, crashers/, suppressions/), or $GOFUZZ_WORKDIR; its corpus is seeded from seeds/<dir>/
# (or $GOFUZZ_SEEDS/<dir>/) on every start, unless SAFEWRR_FUZZ_SEEDS=off.
# The binary, .gofuzz/TARGET-fuzz.zip, is rebuilt when a source is newer.
# go-fuzz and go-fuzz-build are installed into .gofuzz/bin at the version
# go.mod pins for github.com/dvyukov/go-fuzz, when missing or different.
#
# Examples:
#   fuzz/gofuzz.sh Weights -procs 2
#   SAFEWRR_LUA_FINDINGS=hang,error fuzz/gofuzz.sh LuaModule -procs 2
#   SAFEWRR_LUA_PATH=$HOME/lua-resty-balancer/lib fuzz/gofuzz.sh LuaModule
#
# Distributed: one coordinator holds the work directory, workers on any
# number of machines (each with a checkout and Go) run the inputs:
#   fuzz/gofuzz.sh Weights -coordinator 0.0.0.0:8745        # on the coordinator
#   fuzz/gofuzz.sh Weights -worker COORDINATOR:8745 -procs 8  # on each worker
# A worker builds its own binary from its checkout; every machine must be on
# the same commit. The coordinator does not run inputs itself.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin="$root/.gofuzz/bin"
seeds=${GOFUZZ_SEEDS:-$root/seeds}
module=github.com/dvyukov/go-fuzz

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# target NAME sets func (FuzzGofuzzX), name (X), dir (the seeds directory) and
# pkg (the package holding the target: safewrr's own targets are in
# ./fuzz/core, the Lua ones in ./fuzz).
target() {
  case "${1,,}" in
  weights) name=Weights dir=weights pkg=./fuzz/core ;;
  weightstyped | typed) name=WeightsTyped dir=weights-typed pkg=./fuzz/core ;;
  balancer) name=Balancer dir=balancer pkg=./fuzz/core ;;
  luamodule | lua) name=LuaModule dir=lua pkg=./fuzz ;;
  differential) name=Differential dir=lua pkg=./fuzz ;;
  *)
    echo "gofuzz.sh: unknown target ${1:-}; want Weights, WeightsTyped, Balancer, LuaModule or Differential" >&2
    exit 2
    ;;
  esac
  func=FuzzGofuzz$name
  work=${GOFUZZ_WORKDIR:-$root/.gofuzz/$name}
  zip="$root/.gofuzz/$name-fuzz.zip"
}

# embedFix is the one change safewrr needs in go-fuzz-build: it copies a
# package's //go:embed files by taking the directive's text as one file name
# and dropping its directory, so "//go:embed models/*.lua" (luacompat) fails
# with "copyFile: could not read .../models/*.lua". The fixed block expands
# each pattern and keeps the files' paths. It is applied with go build's
# -overlay, so the pinned module itself is used unchanged otherwise.
embedFix='						dirname := filepath.Dir(fullName)
						for _, pattern := range strings.Fields(comment.Text[len("//go:embed "):]) {
							matches, _ := filepath.Glob(filepath.Join(dirname, pattern))
							for _, m := range matches {
								rel, _ := filepath.Rel(dirname, m)
								c.mkdirAll(filepath.Dir(filepath.Join(newDir, rel)))
								c.copyFile(m, filepath.Join(newDir, rel))
							}
						}'

# xtools pins golang.org/x/tools, which go-fuzz-build needs and go-fuzz's
# own go.mod does not pin.
xtools=v0.52.0

install() {
  local version stamp src
  version=$(go list -m -f '{{.Version}}' "$module")
  stamp="$module@$version x/tools@$xtools embed-fix"
  if [[ -x $bin/go-fuzz && -x $bin/go-fuzz-build && $(cat "$bin/VERSION" 2>/dev/null) == "$stamp" ]]; then
    return
  fi
  echo "gofuzz.sh: installing go-fuzz and go-fuzz-build $version into $bin" >&2
  src=$(mktemp -d "${TMPDIR:-/tmp}/gofuzz-src.XXXXXX")
  # shellcheck disable=SC2064 # expand $src now
  trap "rm -rf '$src'; trap - RETURN" RETURN
  mkdir -p "$bin"
  cp -R "$(go mod download -json "$module@$version" | awk -F'"' '$2 == "Dir" {print $4}')/." "$src"
  chmod -R u+w "$src"
  EMBED_FIX="$embedFix" perl -0pi -e '
    s{\t+filename := comment\.Text\[len\("//go:embed "\):\]\n\t+dirname := filepath\.Dir\(fullName\)\n\t+fullname := .*\n\t+p\.OtherFiles = append\(p\.OtherFiles, fullname\)\n}{$ENV{EMBED_FIX}\n}
      or die "gofuzz.sh: go-fuzz-build source changed; the embed fix no longer applies\n"' "$src/go-fuzz-build/main.go"
  (
    cd "$src"
    export GOFLAGS=-mod=mod GOWORK=off
    # The module has no go.mod of its own: pin what it needs.
    go mod init "$module" 2>/dev/null
    go get "golang.org/x/tools@$xtools" github.com/elazarl/go-bindata-assetfs@v1.0.1 \
      github.com/stephens2424/writerset@v1.0.2 2>/dev/null
    rm -rf test testscripts slides # go-fuzz's own tests import fake modules
    go mod tidy
    go build -o "$bin/go-fuzz" ./go-fuzz
    go build -o "$bin/go-fuzz-build" ./go-fuzz-build
  )
  echo "$stamp" >"$bin/VERSION"
}

# build builds the target's go-fuzz binary unless it is newer than every Go
# and Lua source file of the module.
build() {
  install
  mkdir -p "$(dirname "$zip")"
  if [[ -f $zip && -z $(find . -path ./.gofuzz -prune -o \( -name '*.go' -o -name '*.lua' -o -name go.mod \) -newer "$zip" -print -quit) ]]; then
    return
  fi
  echo "gofuzz.sh: building $func" >&2
  "$bin/go-fuzz-build" -func "$func" -o "$zip.tmp" "$pkg"
  mv "$zip.tmp" "$zip"
}

# seed copies the seed files into the corpus (unless SAFEWRR_FUZZ_SEEDS=off);
# an empty seed directory leaves the corpus as it is.
seed() {
  mkdir -p "$work/corpus"
  [[ ${SAFEWRR_FUZZ_SEEDS:-} == off ]] && return
  local f
  for f in "$seeds/$dir"/*; do
    [[ -f $f && $(basename "$f") != README.md ]] || continue
    cp "$f" "$work/corpus/seed-$(basename "$f")"
  done
}

# import copies every crasher into seeds/<dir>/, as a readable file: a Lua
# table literal for the Lua targets, the bytes as they are otherwise.
import() {
  local c n=0 id out ext rc known s
  case $dir in
  weights) ext=json ;;
  balancer) ext=txt ;;
  lua) ext=lua ;;
  esac
  shopt -s nullglob
  if [[ $dir == lua ]]; then
    mkdir -p "$bin"
    go build -o "$bin/luaseed" ./fuzz/internal/luaseed
  fi
  for c in "$work"/crashers/*; do
    case $c in *.output | *.quoted) continue ;; esac
    id=$(basename "$c")
    out="$seeds/$dir/found-${id:0:12}.$ext"
    # A crasher that is already a seed (the same node set, or the same
    # bytes) is not imported again.
    if [[ $dir == lua ]]; then
      rc=0
      "$bin/luaseed" -seeds "$seeds/$dir" "$c" >"$out.tmp" || rc=$?
      if [[ $rc == 3 ]]; then
        rm -f "$out.tmp"
        continue
      fi
      [[ $rc == 0 ]] || { rm -f "$out.tmp"; exit "$rc"; }
      mv "$out.tmp" "$out"
    else
      known=
      for s in "$seeds/$dir"/*; do
        [[ -f $s ]] && cmp -s "$c" "$s" && known=$s && break
      done
      if [[ -n $known ]]; then
        echo "gofuzz.sh: $c is already the seed $known" >&2
        continue
      fi
      cp "$c" "$out"
    fi
    echo "gofuzz.sh: $c -> $out" >&2
    n=$((n + 1))
  done
  echo "gofuzz.sh: imported $n crasher(s) into $seeds/$dir; go test ./fuzz/... replays them" >&2
}

case "${1:-}" in
"" | -h | --help) usage ;;
install) install ;;
build)
  target "${2:-}"
  build
  ;;
import)
  target "${2:-}"
  import
  ;;
*)
  target "$1"
  shift
  build
  worker=""
  for a in "$@"; do [[ $a == -worker* ]] && worker=1; done
  if [[ -n $worker ]]; then
    exec "$bin/go-fuzz" -bin "$zip" "$@"
  fi
  seed
  exec "$bin/go-fuzz" -bin "$zip" -workdir "$work" "$@"
  ;;
esac
