module github.com/safewrr/safewrr/bench

go 1.26

require (
	github.com/go-kratos/kratos/v2 v2.8.3
	github.com/mroth/weightedrand/v2 v2.1.0
	github.com/safewrr/safewrr v0.0.0
	github.com/smallnest/weighted v0.0.0-20230419055410-36b780e40a7a
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/exp v0.0.0-20200119233911-0405dc783f0a // indirect
	golang.org/x/sys v0.18.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240102182953-50ed04b92917 // indirect
	google.golang.org/grpc v1.61.1 // indirect
	google.golang.org/protobuf v1.33.0 // indirect
)

replace github.com/safewrr/safewrr => ../
