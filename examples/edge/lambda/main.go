// Command lambda serves package app on AWS Lambda through
// github.com/awslabs/aws-lambda-go-api-proxy: the session middleware runs
// unchanged behind API Gateway REST (v1), HTTP API (v2) or a function URL,
// and an Application Load Balancer. Set EVENT_SOURCE to "rest", "http"
// (the default; also function URLs) or "alb", and COOKIESEAL_KEYS to the
// key text (keyring.ParseString), from a secret store.
//
//	GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap ./examples/edge/lambda
//
// Every Set-Cookie line is kept: v2 responses carry them in "cookies", v1
// and ALB in multiValueHeaders (ALB needs multi-value headers turned on
// for the target group, or only one line survives).
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/cookieseal/cookieseal/examples/edge/app"
)

func main() {
	kr, err := app.Keys(os.Getenv("COOKIESEAL_KEYS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambda: COOKIESEAL_KEYS:", err)
		os.Exit(1)
	}
	h, _, err := app.New(kr, app.Options())
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambda:", err)
		os.Exit(1)
	}
	fn, err := handlerFor(os.Getenv("EVENT_SOURCE"), h)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambda:", err)
		os.Exit(1)
	}
	lambda.Start(fn)
}

// handlerFor returns the Lambda handler function for the event source.
func handlerFor(source string, h http.Handler) (any, error) {
	switch source {
	case "rest":
		return httpadapter.New(h).ProxyWithContext, nil
	case "http", "":
		return httpadapter.NewV2(h).ProxyWithContext, nil
	case "alb":
		return httpadapter.NewALB(h).ProxyWithContext, nil
	}
	return nil, fmt.Errorf("EVENT_SOURCE %q: want rest, http or alb", source)
}
