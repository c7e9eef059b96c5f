#!/usr/bin/env bash
# Fuzzing power: for each planted bug of internal/plant, the time its fuzz
# target takes to find it from an empty corpus (native engine, one worker,
# 60 s cap, median of 3; SAFEWRR_POWER_ENGINES=libfuzzer or native,libfuzzer
# for libFuzzer builds made by fuzz/libfuzzer.sh), with each finding replayed
# through the plain target to make sure it is the planted bug. Prints a
# table in fuzz/README.md.
# CPU heavy (up to 21 bugs x 3 runs x 60 s per engine): it runs at nice 10.
#
#   fuzz/measure-power.sh                      every bug, 3 runs, 60 s cap
#   fuzz/measure-power.sh -quick               CI's form: a few bugs, 1 run, 30 s cap
#   SAFEWRR_POWER_ENGINES=native,libfuzzer fuzz/measure-power.sh   the whole catalog, both engines
#   SAFEWRR_POWER_BUGS=nan,order fuzz/measure-power.sh
#   SAFEWRR_POWER_TARGET=FuzzWeights SAFEWRR_POWER_BUGS=string-zero fuzz/measure-power.sh
#
# SAFEWRR_POWER_RUNS and SAFEWRR_POWER_CAP change the runs and the cap. The
# exit status is non-zero when a campaign finds nothing within the cap, or
# finds a real bug.
set -euo pipefail
cd "$(dirname "$0")/core"
if [[ ${1:-} == -quick ]]; then
  export SAFEWRR_POWER_BUGS=${SAFEWRR_POWER_BUGS:-string-zero,tried-returned,heaviest-short}
  export SAFEWRR_POWER_RUNS=${SAFEWRR_POWER_RUNS:-1}
  export SAFEWRR_POWER_CAP=${SAFEWRR_POWER_CAP:-30s}
fi
nice -n 10 go test -tags e2e,measure -count 1 -timeout 90m -run '^TestPower$' -v . 2>&1 |
  grep -E '^(=== RUN|--- |\s+power_test.go|PASS|FAIL|ok)' | sed 's/^ *power_test.go:[0-9]*: /    /'
exit "${PIPESTATUS[0]}"
