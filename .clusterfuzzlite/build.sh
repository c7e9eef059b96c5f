#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build: every native fuzz target of fuzz/ and
# fuzz/core/ becomes a libFuzzer binary in $OUT (with its seed corpus as
# $OUT/FuzzX_seed_corpus.zip), by the same script developers and CI use.
# It runs go-118-fuzz-build at the version go.mod pins, then links with
# $CXX $CXXFLAGS $LIB_FUZZING_ENGINE, as compile_native_go_fuzzer does.
cd "$SRC/safewrr"
fuzz/libfuzzer.sh build
