// Example bridge, not a maintained adapter: serves the js/wasm build of
// examples/edge/app (app.wasm, built from main.go) from a Cloudflare
// Worker. Go's wasm_exec.js (copied from $(go env GOROOT)/lib/wasm next to
// this file at build time) defines globalThis.Go.
//
// The Go program is started at the first request, not at load time:
// Workers allow random numbers (which Go's runtime asks for at start-up)
// only while a request is handled. It then stays running and answers
// each request through globalThis.cookiesealServe, synchronously.
import "./wasm_exec.js";
import appWasm from "./app.wasm";

let started = null;

function start(env) {
  if (!started) {
    const go = new globalThis.Go();
    go.env = { COOKIESEAL_KEYS: env.COOKIESEAL_KEYS };
    started = WebAssembly.instantiate(appWasm, go.importObject).then((instance) => {
      go.run(instance); // runs main until it blocks, having registered cookiesealServe
      if (typeof globalThis.cookiesealServe !== "function") {
        throw new Error("the Go program did not register cookiesealServe");
      }
    });
  }
  return started;
}

export default {
  async fetch(request, env) {
    await start(env);
    const headers = [];
    for (const [name, value] of request.headers) {
      headers.push([name, value]);
    }
    const body = request.body ? await request.text() : "";
    const r = globalThis.cookiesealServe(request.method, request.url, headers, body);
    const out = new Headers();
    for (const [name, value] of r.headers) {
      out.append(name, value); // every Set-Cookie line stays a line of its own
    }
    return new Response(r.body, { status: r.status, headers: out });
  },
};
