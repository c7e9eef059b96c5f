#!/usr/bin/env bash
# Measure the fuzzing suite on this machine and print the figures fuzz/README.md
# records: time for FuzzLuaModule to find the string-"0" hang of the 2020
# model from an empty corpus (native engine and go-fuzz, median of 5), the
# classes of hanging or failing input it finds on its own in 60 s, and the
# executions per second of Weights, WeightsTyped and Balancer (package
# fuzz/core) next to a no-op target's, native, go-fuzz and libFuzzer (from an
# empty corpus, the share of the no-op in the same round). About 15 minutes;
# run it on an otherwise idle machine.
#
#   fuzz/measure.sh [-run REGEXP]    e.g. -run StringZeroNative, -run LibfuzzerRate
set -euo pipefail
cd "$(dirname "$0")"
run='^TestMeasure'
if [[ ${1:-} == -run ]]; then run="^TestMeasure.*${2:-}"; fi
go test -tags e2e,measure -count 1 -timeout 60m -run "$run" -v . ./core 2>&1 |
  grep -E '^(=== RUN|--- |\s+measure_test.go|PASS|FAIL|ok)' | sed 's/^ *measure_test.go:[0-9]*: /    /'
