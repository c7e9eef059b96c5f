//go:build tools

package fuzz

// This file is never built. It records go-fuzz's runtime support package as
// a dependency so that go.mod pins the go-fuzz version that fuzz/gofuzz.sh
// installs and go-fuzz-build links into its builds, and so that go mod tidy
// keeps that pin.
import _ "github.com/dvyukov/go-fuzz/go-fuzz-dep"
