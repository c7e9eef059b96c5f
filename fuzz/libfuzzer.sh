#!/usr/bin/env bash
# Build and run safewrr's native fuzz targets as libFuzzer binaries, the way
# OSS-Fuzz and ClusterFuzzLite build them (compile_native_go_fuzzer):
# go-118-fuzz-build turns FuzzX(f *testing.F) into a C archive with a
# libFuzzer entry point, clang links it with libFuzzer.
#
#   fuzz/libfuzzer.sh build [TARGET...]           build (all targets by default) and seed the corpora
#   fuzz/libfuzzer.sh run TARGET [libFuzzer flags]  fuzz one target on its corpus until stopped
#   fuzz/libfuzzer.sh merge TARGET                shrink the corpus to the inputs that add coverage
#   fuzz/libfuzzer.sh import TARGET               turn findings into seed files
#   fuzz/libfuzzer.sh list                        the targets and their packages
#   fuzz/libfuzzer.sh install                     only install go-118-fuzz-build
#
# TARGET is a native fuzz test's name (FuzzWeights, FuzzBalancer,
# FuzzLuaModule, ...; the X of FuzzX will do, any case). Every
# FuzzX(f *testing.F) in fuzz/ and fuzz/core/ is a target.
#
# Layout, under .libfuzzer/ at the repository root (or $LIBFUZZER_WORKDIR):
#   bin/FuzzX         the libFuzzer binary ($OUT/FuzzX when OUT is set, as in
#                     ClusterFuzzLite's build.sh; the seed corpus then also
#                     goes to $OUT/FuzzX_seed_corpus.zip)
#   corpus/FuzzX/     the corpus: seeds (seed-*) and what the fuzzer keeps
#   findings/FuzzX/   crash-*, timeout-*, oom-* inputs
#   tools/            go-118-fuzz-build at the version go.mod pins
# Inputs are framed as the libFuzzer build reads them (a 4-byte length, then
# the bytes the target sees; see fuzz/internal/lfinput): build and run
# convert seeds/<dir>/ into that form, import converts findings back.
#
# The first build installs go-118-fuzz-build and compiles the standard
# library with libFuzzer instrumentation: 1-2 minutes (more on a busy
# machine); later builds take seconds per target. A run goes on until
# stopped (Ctrl-C) or until a finding, unless given -max_total_time=SECONDS
# or -runs=N. Other useful flags: -jobs=N -workers=N (N processes),
# -timeout=S (an input running longer is a finding; the default here is
# 10 s), -print_final_stats=1.
#
# Environment: LIBFUZZER_WORKDIR and LIBFUZZER_SEEDS move .libfuzzer/ and
# the seed root (seeds/); LIBFUZZER_TAGS adds build tags (fuzzpower, with
# GOFLAGS=-ldflags=-X=... naming a planted bug, as fuzz/measure-power.sh does);
# LIBFUZZER_INCLUDE is go-118-fuzz-build's -include, the packages that get
# coverage and comparison instrumentation (default
# "github.com/safewrr/safewrr/*,github.com/yuin/gopher-lua*": safewrr's own
# packages and the Lua interpreter the Lua targets drive; "*", what
# OSS-Fuzz's compile_native_go_fuzzer leaves it at, also instruments the
# standard library and the harness, which guides nothing of safewrr's and
# made FuzzWeights 3 times slower; for FuzzWeightsTyped the default is
# "github.com/safewrr/safewrr/weights*", the code under test without the
# target's own generator and checks: see fuzz/README.md, "libFuzzer"); SAFEWRR_FUZZ_SEEDS=off starts from an empty corpus (the
# corpus directory is emptied first); SAFEWRR_LUA_FINDINGS, SAFEWRR_LUA_PATH
# and SAFEWRR_LUA_IGNORE work as for go test -fuzz; CXX, CXXFLAGS and
# LIB_FUZZING_ENGINE (default clang++, empty, -fsanitize=fuzzer) are
# OSS-Fuzz's variables for the link step.
#
# Examples:
#   fuzz/libfuzzer.sh build
#   fuzz/libfuzzer.sh run FuzzWeights -max_total_time=600
#   fuzz/libfuzzer.sh run FuzzBalancer -jobs=2 -workers=2
#   SAFEWRR_FUZZ_SEEDS=off SAFEWRR_LUA_FINDINGS=hang fuzz/libfuzzer.sh run FuzzLuaModule
#   fuzz/libfuzzer.sh import FuzzLuaModule    # findings become seeds/lua/found-*.lua
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=${LIBFUZZER_WORKDIR:-$root/.libfuzzer}
tools="$work/tools"
bin=${OUT:-$work/bin}
seeds=${LIBFUZZER_SEEDS:-$root/seeds}
module=github.com/AdamKorcz/go-118-fuzz-build

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "libfuzzer.sh: $*" >&2
  exit 2
}

# targets prints "FuzzX package-dir" for every native fuzz target, found as
# OSS-Fuzz finds them: a line "func FuzzX(f *testing.F)" in a test file.
targets() {
  grep -H -o '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' fuzz/*_test.go fuzz/*/*_test.go 2>/dev/null |
    sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\2 ./\1#' | sort -u
}

# target NAME sets name (FuzzX), pkg (its package directory), dir (its seed
# directory, or empty), ext (the suffix of imported seed files) and include
# (the packages instrumented unless LIBFUZZER_INCLUDE is set).
target() {
  local want=${1:-} n p
  [[ -n $want ]] || die "no target given; see fuzz/libfuzzer.sh list"
  [[ ${want,,} == fuzz* ]] || want=Fuzz$want
  name="" pkg=""
  while read -r n p; do
    if [[ ${n,,} == "${want,,}" ]]; then name=$n pkg=$p; fi
  done < <(targets)
  [[ -n $name ]] || die "unknown target ${1}; the targets are: $(targets | cut -d' ' -f1 | tr '\n' ' ')"
  include='github.com/safewrr/safewrr/*,github.com/yuin/gopher-lua*'
  case $name in
  FuzzWeights) dir=weights ext=json ;;
  FuzzWeightsTyped) dir=weights-typed ext=bin include='github.com/safewrr/safewrr/weights*' ;;
  FuzzBalancer) dir=balancer ext=txt ;;
  FuzzLuaModule | FuzzDifferential) dir=lua ext=lua ;;
  *) dir="" ext=bin ;;
  esac
}

# install puts go-118-fuzz-build at the version go.mod pins into tools/.
install() {
  local version
  version=$(go list -m -f '{{.Version}}' "$module")
  if [[ -x $tools/go-118-fuzz-build && $(cat "$tools/VERSION" 2>/dev/null) == "$version" ]]; then
    return
  fi
  echo "libfuzzer.sh: installing go-118-fuzz-build $version into $tools" >&2
  mkdir -p "$tools"
  GOBIN="$tools" GOFLAGS= go install "$module@$version"
  go build -o "$tools/lfinput" ./fuzz/internal/lfinput
  echo "$version" >"$tools/VERSION"
}

# lfinput converts one file (encode: seed -> libFuzzer input; decode: back).
lfinput() {
  [[ -x $tools/lfinput && $tools/lfinput -nt fuzz/internal/lfinput/main.go ]] ||
    go build -o "$tools/lfinput" ./fuzz/internal/lfinput
  "$tools/lfinput" "$@"
}

# build_one builds .libfuzzer/bin/FuzzX with OSS-Fuzz's two steps. go-118-fuzz-build
# rewrites and renames the package's test files while it builds, so it works
# on a copy of the source tree, never on the checkout itself.
build_one() {
  local src abs
  src=$(mktemp -d "${TMPDIR:-/tmp}/libfuzzer-src.XXXXXX")
  # shellcheck disable=SC2064 # expand $src now
  trap "rm -rf '$src'; trap - RETURN" RETURN
  mkdir -p "$bin"
  tar -C "$root" --exclude=./.git --exclude=./.libfuzzer --exclude=./.gofuzz -cf - . | tar -C "$src" -xf -
  echo "libfuzzer.sh: building $name ($pkg)" >&2
  (
    cd "$src"
    abs=$(go list -tags "gofuzz${LIBFUZZER_TAGS:+,$LIBFUZZER_TAGS}" -f '{{.Dir}}' "$pkg")
    "$tools/go-118-fuzz-build" -tags "gofuzz${LIBFUZZER_TAGS:+,$LIBFUZZER_TAGS}" -include "${LIBFUZZER_INCLUDE:-$include}" -o "$work/$name.a" -func "$name" "$abs" >"$work/$name.build.log" 2>&1 ||
      { cat "$work/$name.build.log" >&2; exit 1; }
    # shellcheck disable=SC2086 # CXXFLAGS and LIB_FUZZING_ENGINE are word lists
    ${CXX:-clang++} ${CXXFLAGS:-} ${LIB_FUZZING_ENGINE:--fsanitize=fuzzer} "$work/$name.a" -o "$bin/$name"
  )
  rm -f "$work/$name.a" "$work/${name}.h"
}

# seed copies the target's seed files, framed for libFuzzer, into its corpus
# (and, with OUT set, into $OUT/FuzzX_seed_corpus.zip, where OSS-Fuzz and
# ClusterFuzzLite look for it). With SAFEWRR_FUZZ_SEEDS=off the corpus is
# emptied instead. An empty or missing seed directory is an empty corpus.
seed() {
  local corpus="$work/corpus/$name" f out
  mkdir -p "$corpus"
  if [[ ${SAFEWRR_FUZZ_SEEDS:-} == off ]]; then
    find "$corpus" -mindepth 1 -delete
    return
  fi
  [[ -n $dir && -d $seeds/$dir ]] || return 0
  for f in "$seeds/$dir"/*; do
    [[ -f $f && $(basename "$f") != README.md && -s $f ]] || continue
    out="$corpus/seed-$(basename "$f")"
    lfinput encode "$f" >"$out"
    # A seed a Lua campaign reports at once (a known hang of the 2020 model)
    # is left out, as go test -fuzz does, so that the campaign looks for new
    # ones.
    if [[ $dir == lua && -x $bin/$name ]] && ! "$bin/$name" -runs=1 "$out" >/dev/null 2>&1; then
      rm -f "$out"
    fi
  done
  if [[ -n ${OUT:-} ]]; then
    rm -f "$OUT/${name}_seed_corpus.zip"
    (cd "$corpus" && find . -name 'seed-*' -print | zip -q -@ "$OUT/${name}_seed_corpus.zip") || true
  fi
}

build() {
  install
  local want=("$@") n p
  if ((${#want[@]} == 0)); then
    while read -r n p; do want+=("$n"); done < <(targets)
  fi
  for n in "${want[@]}"; do
    target "$n"
    build_one
    seed
  done
}

run() {
  target "${1:-}"
  shift
  [[ -x $bin/$name ]] || build "$name"
  seed
  mkdir -p "$work/findings/$name"
  exec "$bin/$name" -artifact_prefix="$work/findings/$name/" -timeout=10 "$@" "$work/corpus/$name"
}

# merge keeps only the corpus inputs that add coverage (libFuzzer -merge=1).
merge() {
  target "${1:-}"
  local corpus="$work/corpus/$name" tmp
  [[ -x $bin/$name ]] || die "$name is not built; run fuzz/libfuzzer.sh build $name"
  tmp=$(mktemp -d "$work/merge.XXXXXX")
  "$bin/$name" -merge=1 "$tmp" "$corpus"
  rm -rf "$corpus"
  mv "$tmp" "$corpus"
  echo "libfuzzer.sh: $corpus: $(find "$corpus" -type f | wc -l) inputs" >&2
}

# import turns every finding into a seed file in seeds/<dir>/ (the bytes the
# target saw; a Lua table literal for the Lua targets), unless a seed file
# with the same content is there already.
import() {
  target "${1:-}"
  [[ -n $dir ]] || die "$name has no seed directory"
  local f tmp out sum n=0 skipped=0 s dup
  mkdir -p "$seeds/$dir"
  tmp=$(mktemp)
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -f '$tmp' '$tmp.lua'" RETURN
  shopt -s nullglob
  for f in "$work/findings/$name"/crash-* "$work/findings/$name"/timeout-* "$work/findings/$name"/oom-* "$work/findings/$name"/slow-unit-*; do
    if ! lfinput decode "$f" >"$tmp"; then
      continue
    fi
    if [[ $dir == lua ]]; then
      go run ./fuzz/internal/luaseed "$tmp" >"$tmp.lua"
      mv "$tmp.lua" "$tmp"
    fi
    dup=""
    for s in "$seeds/$dir"/*; do
      if cmp -s "$s" "$tmp"; then dup=$s; fi
    done
    if [[ -n $dup ]]; then
      echo "libfuzzer.sh: $f is $dup already" >&2
      skipped=$((skipped + 1))
      continue
    fi
    sum=$(sha1sum "$tmp" | cut -c1-12)
    out="$seeds/$dir/found-$sum.$ext"
    cp "$tmp" "$out"
    echo "libfuzzer.sh: $f -> $out" >&2
    n=$((n + 1))
  done
  echo "libfuzzer.sh: imported $n finding(s) into $seeds/$dir ($skipped already there); go test ./fuzz/... replays them" >&2
}

case "${1:-}" in
"" | -h | --help) usage ;;
install) install ;;
list) targets ;;
build)
  shift
  build "$@"
  ;;
run)
  shift
  run "$@"
  ;;
merge) merge "${2:-}" ;;
import) import "${2:-}" ;;
*) die "unknown command $1; see fuzz/libfuzzer.sh --help" ;;
esac
