// Node side of interop/jose_test.go: Node's jose (pinned in package.json)
// opens cookieseal's JWE values and seals values for cookieseal to open.
// Input: one JSON object on stdin. Output: one JSON object on stdout.
//
//   {"op":"decrypt","jwks":{"keys":[…]},"tokens":["…"]}
//     → {"results":[{"protectedHeader":{…},"plaintext":"…"} | {"error":"…"}]}
//   {"op":"encrypt","items":[{"jwk":{…},"header":{…},"plaintext":"…"}]}
//     → {"tokens":["…" | {"error":"…"}]}
import { CompactEncrypt, compactDecrypt, base64url } from "jose";
import { readFileSync } from "node:fs";

const input = JSON.parse(readFileSync(0, "utf8"));
const text = new TextEncoder();
const utf8 = new TextDecoder();

async function decrypt({ jwks, tokens }) {
  // Pick the key by the value's kid, as a service holding the exported
  // key set would.
  const getKey = (protectedHeader) => {
    const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
    if (!jwk) throw new Error(`no key for kid ${protectedHeader.kid}`);
    return base64url.decode(jwk.k);
  };
  const results = [];
  for (const token of tokens) {
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(token, getKey, {
        keyManagementAlgorithms: ["dir"],
        contentEncryptionAlgorithms: ["A256GCM"],
      });
      results.push({ protectedHeader, plaintext: utf8.decode(plaintext) });
    } catch (e) {
      results.push({ error: `${e.code ?? e.name}: ${e.message}` });
    }
  }
  return { results };
}

async function encrypt({ items }) {
  const tokens = [];
  for (const { jwk, header, plaintext } of items) {
    try {
      tokens.push(
        await new CompactEncrypt(text.encode(plaintext))
          .setProtectedHeader(header)
          .encrypt(base64url.decode(jwk.k)),
      );
    } catch (e) {
      tokens.push({ error: `${e.code ?? e.name}: ${e.message}` });
    }
  }
  return { tokens };
}

const ops = { decrypt, encrypt };
if (!ops[input.op]) throw new Error(`unknown op ${input.op}`);
process.stdout.write(JSON.stringify(await ops[input.op](input)));
