// Package e2e holds safewrr's end-to-end tests. They run only with the build
// tag e2e and need nginx, its Lua module and LuaJIT installed (Debian:
// nginx-light, libnginx-mod-http-lua, luajit2 and lua-cjson):
//
//	go test -tags e2e -count 1 ./e2e
//
// Every process they start listens on 127.0.0.1 only, every loop is bounded
// in count and time, and every process is killed when its test ends, even a
// worker that spins in Lua code.
package e2e
