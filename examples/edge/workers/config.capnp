# workerd configuration for the example (see worker.mjs). Run from a
# directory holding worker.mjs, wasm_exec.js and app.wasm:
#
#   COOKIESEAL_KEYS=… workerd serve config.capnp --socket-addr http=127.0.0.1:8080
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:8080", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    (name = "wasm_exec.js", esModule = embed "wasm_exec.js"),
    (name = "app.wasm", wasm = embed "app.wasm"),
  ],
  bindings = [ (name = "COOKIESEAL_KEYS", fromEnvironment = "COOKIESEAL_KEYS") ],
  compatibilityDate = "2024-09-23",
);
