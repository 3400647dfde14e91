// Node side of interop/authjs_test.go: @auth/core's own encode (pinned in
// package.json) makes session tokens, and @auth/core's own SessionStore
// splits them into the cookies Auth.js would set.
// Input: one JSON object on stdin. Output: one JSON object on stdout.
//
//   {"op":"encode","secret":"…","cookieName":"…","token":{…},"maxAge":3600}
//     → {"token":"…","cookies":[{"name":"…","value":"…"}],"decoded":{…}}
//   {"op":"encode-gcm", same input}
//     → the same, sealed with "enc":"A256GCM" (which Auth.js's decode
//       accepts but its encode never writes), to exercise that branch.
import { encode, decode } from "@auth/core/jwt";
// SessionStore is not in @auth/core's public exports; importing its file
// by path uses Auth.js's real chunking code rather than a copy of it.
import { SessionStore } from "./node_modules/@auth/core/lib/utils/cookie.js";
import { EncryptJWT, base64url, calculateJwkThumbprint } from "jose";
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";

const input = JSON.parse(readFileSync(0, "utf8"));
const quiet = { debug() {}, error() {}, warn() {} };

async function encodeGCM({ token, secret, salt, maxAge }) {
  // getDerivedEncryptionKey's derivation, for enc A256GCM (32 bytes).
  const key = new Uint8Array(hkdfSync("sha256", secret, salt, `Auth.js Generated Encryption Key (${salt})`, 32));
  const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, "sha256");
  return await new EncryptJWT(token)
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + maxAge)
    .setJti(crypto.randomUUID())
    .encrypt(key);
}

const { op, secret, cookieName, token, maxAge } = input;
const params = { token, secret, salt: cookieName, maxAge };
let jwt;
if (op === "encode") jwt = await encode(params);
else if (op === "encode-gcm") jwt = await encodeGCM(params);
else throw new Error(`unknown op ${op}`);

const store = new SessionStore({ name: cookieName, options: {} }, {}, quiet);
const cookies = store.chunk(jwt, {}).map(({ name, value }) => ({ name, value }));
// Auth.js's own decode must accept what we hand to Go.
const decoded = await decode({ token: jwt, secret, salt: cookieName });
process.stdout.write(JSON.stringify({ token: jwt, cookies, decoded }));
