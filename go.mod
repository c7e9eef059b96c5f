module github.com/safewrr/safewrr

go 1.26

require (
	github.com/dvyukov/go-fuzz v0.0.0-20220726122315-1d375ef9f9f6
	github.com/yuin/gopher-lua v1.1.2
)
