//go:build js && wasm

// Command workers is package app built for js/wasm, for Cloudflare's
// workerd (worker.mjs, config.capnp). It is example code: Go's js/wasm
// port has no notion of a Worker, so main registers one JavaScript
// function, cookiesealServe(method, url, headers, body), that runs a
// request through the app and returns {status, headers, body}; worker.mjs
// turns a Worker fetch event into that call and back. The app's Revoker
// is in memory: a Worker reaches the network only through fetch (see "Forced
// logout at the edge" in docs/edge.md).
//
//	GOOS=js GOARCH=wasm go build -o app.wasm ./examples/edge/workers
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall/js"

	"github.com/cookieseal/cookieseal/examples/edge/app"
)

func main() {
	kr, err := app.Keys(os.Getenv("COOKIESEAL_KEYS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "workers: COOKIESEAL_KEYS:", err)
		os.Exit(1)
	}
	h, _, err := app.New(kr, app.Options())
	if err != nil {
		fmt.Fprintln(os.Stderr, "workers:", err)
		os.Exit(1)
	}
	js.Global().Set("cookiesealServe", js.FuncOf(func(this js.Value, args []js.Value) any {
		return serve(h, args)
	}))
	select {} // serve calls until the isolate goes away
}

// serve runs one request: args are the method, the URL, the headers as
// an array of [name, value] pairs and the body as a string. The handler
// must not wait on JavaScript (the call is synchronous); app's does not.
func serve(h http.Handler, args []js.Value) any {
	if len(args) != 4 {
		return map[string]any{"status": 500, "headers": []any{}, "body": "bridge: want 4 arguments"}
	}
	r, err := http.NewRequest(args[0].String(), args[1].String(), strings.NewReader(args[3].String()))
	if err != nil {
		return map[string]any{"status": 400, "headers": []any{}, "body": "bad request"}
	}
	hdrs := args[2]
	for i := 0; i < hdrs.Length(); i++ {
		pair := hdrs.Index(i)
		r.Header.Add(pair.Index(0).String(), pair.Index(1).String())
	}
	r.Host = r.URL.Host
	w := &response{h: http.Header{}, status: 0}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var out []any
	for k, vs := range w.h {
		for _, v := range vs {
			out = append(out, []any{k, v})
		}
	}
	return map[string]any{"status": w.status, "headers": out, "body": w.body.String()}
}

// response collects what the handler writes.
type response struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (w *response) Header() http.Header { return w.h }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *response) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

var _ io.Writer = (*response)(nil)
