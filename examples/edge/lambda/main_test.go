package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/cookieseal/cookieseal/examples/edge/app"
	"github.com/cookieseal/cookieseal/examples/edge/internal/flow"
	"github.com/cookieseal/cookieseal/keyring"
)

const host = "abc123.execute-api.eu-west-1.amazonaws.com"

// events builds the JSON the Lambda runtime hands the function for each
// event source, as AWS documents them (REST API proxy integration v1,
// HTTP API / function URL payload v2, ALB target group with multi-value
// headers).
var events = map[string]func(method, path, query string, cookies []string) map[string]any{
	"rest": func(method, path, query string, cookies []string) map[string]any {
		hdr, mhdr := map[string]any{"Host": host}, map[string]any{"Host": []string{host}}
		if len(cookies) > 0 {
			hdr["Cookie"] = strings.Join(cookies, "; ")
			mhdr["Cookie"] = []string{strings.Join(cookies, "; ")}
		}
		q, mq := queryMaps(query)
		return map[string]any{
			"resource": "/{proxy+}", "path": path, "httpMethod": method,
			"headers": hdr, "multiValueHeaders": mhdr,
			"queryStringParameters": q, "multiValueQueryStringParameters": mq,
			"pathParameters": map[string]any{"proxy": strings.TrimPrefix(path, "/")},
			"requestContext": map[string]any{
				"resourcePath": "/{proxy+}", "httpMethod": method, "path": "/prod" + path, "stage": "prod",
				"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "accountId": "123456789012",
				"identity": map[string]any{"sourceIp": "203.0.113.7"},
			},
			"body": nil, "isBase64Encoded": false,
		}
	},
	"http": func(method, path, query string, cookies []string) map[string]any {
		ev := map[string]any{
			"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
			"headers": map[string]any{"host": host},
			"requestContext": map[string]any{
				"accountId": "123456789012", "apiId": "abc123", "domainName": host, "domainPrefix": "abc123",
				"requestId": "JKJaXmPLvHcESHA=", "routeKey": "$default", "stage": "$default", "timeEpoch": time.Now().UnixMilli(),
				"http": map[string]any{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test"},
			},
			"isBase64Encoded": false,
		}
		if len(cookies) > 0 {
			ev["cookies"] = cookies // API Gateway splits the Cookie header into this array
		}
		if query != "" {
			q, _ := queryMaps(query)
			ev["queryStringParameters"] = q
		}
		return ev
	},
	"alb": func(method, path, query string, cookies []string) map[string]any {
		mhdr := map[string]any{"host": []string{"edge-alb-123.eu-west-1.elb.amazonaws.com"}}
		if len(cookies) > 0 {
			mhdr["cookie"] = []string{strings.Join(cookies, "; ")}
		}
		_, mq := queryMaps(query)
		return map[string]any{
			"requestContext":                  map[string]any{"elb": map[string]any{"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/edge/6d0ecf831eec9f09"}},
			"httpMethod":                      method,
			"path":                            path,
			"multiValueQueryStringParameters": mq,
			"multiValueHeaders":               mhdr,
			"body":                            "",
			"isBase64Encoded":                 false,
		}
	},
}

func queryMaps(query string) (map[string]any, map[string]any) {
	if query == "" {
		return nil, nil
	}
	v, _ := url.ParseQuery(query)
	q, mq := map[string]any{}, map[string]any{}
	for k, vs := range v {
		q[k], mq[k] = vs[0], vs
	}
	return q, mq
}

// response is the union of the three response shapes.
type response struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// TestLambdaEvents runs the login → read → logout flow through the
// function as the Lambda runtime calls it: the event as JSON bytes into
// lambda.NewHandler(fn).Invoke, the response JSON back.
func TestLambdaEvents(t *testing.T) {
	for source, event := range events {
		t.Run(source, func(t *testing.T) {
			kr, err := keyring.Generate()
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := app.New(kr, app.Options())
			if err != nil {
				t.Fatal(err)
			}
			fn, err := handlerFor(source, h)
			if err != nil {
				t.Fatal(err)
			}
			lh := lambda.NewHandler(fn)
			flow.Run(t, func(t testing.TB, method, path, query string, cookies []string) flow.Response {
				payload, err := json.Marshal(event(method, path, query, cookies))
				if err != nil {
					t.Fatal(err)
				}
				out, err := lh.Invoke(context.Background(), payload)
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				var r response
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("response %s: %v", out, err)
				}
				body := r.Body
				if r.IsBase64Encoded {
					b, err := base64.StdEncoding.DecodeString(body)
					if err != nil {
						t.Fatal(err)
					}
					body = string(b)
				}
				var lines []string
				switch source {
				case "http":
					lines = r.Cookies
					if _, ok := r.Headers["Set-Cookie"]; ok {
						t.Fatal("v2: a Set-Cookie header beside cookies")
					}
				default:
					lines = http.Header(r.MultiValueHeaders).Values("Set-Cookie")
				}
				return flow.Response{Status: r.StatusCode, Body: body, SetCookies: lines}
			})
		})
	}
	if _, err := handlerFor("websocket", nil); err == nil {
		t.Fatal("an unknown EVENT_SOURCE was accepted")
	}
}
