module github.com/cookieseal/cookieseal/examples/edge

go 1.25.0

require (
	github.com/aws/aws-lambda-go v1.54.0
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2
	github.com/cookieseal/cookieseal v0.1.0
	github.com/tetratelabs/wazero v1.12.0
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
