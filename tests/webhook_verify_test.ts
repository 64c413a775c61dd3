/**
 * Signature checks and provider detection, against signatures made by independent code
 * (`@octokit/webhooks-methods`, `node:crypto`).
 */

import { createHmac } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";
import { assert, assertEquals } from "./support/assert.ts";
import { deliveryHeaders, PROVIDERS } from "./support/webhook_payloads.ts";
import {
  hexToBytes,
  importWebhookSecret,
  verifyHmacSha256,
  verifyToken,
} from "../src/webhook/verify.ts";
import { readDeliveryHeaders } from "../src/webhook/providers.ts";

const SECRET = "It's a Secret to Everybody";
const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("HMAC-SHA256 signatures made by @octokit/webhooks-methods verify", async () => {
  const secret = importWebhookSecret(SECRET);
  // GitHub's documented test vector.
  const body = "Hello, World!";
  const documented = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  assertEquals(await sign(SECRET, body), `sha256=${documented}`);
  assert(verifyHmacSha256(secret, encode(body), { signatureHex: documented }));
  assert(verifyHmacSha256(secret, encode(body), { signatureHex: documented.toUpperCase() }));
  for (const text of ["{}", '{"ref":"refs/heads/main"}', "ünïcödé ✓", "x".repeat(100_000)]) {
    const hex = (await sign(SECRET, text)).slice("sha256=".length);
    assert(verifyHmacSha256(secret, encode(text), { signatureHex: hex }), text.slice(0, 20));
    const viaNode = createHmac("sha256", SECRET).update(text).digest("hex");
    assertEquals(viaNode, hex);
  }
  const empty = createHmac("sha256", SECRET).update("").digest("hex");
  assert(verifyHmacSha256(secret, new Uint8Array(), { signatureHex: empty }));
});

Deno.test("a changed body, another secret or a malformed signature does not verify", async () => {
  const secret = importWebhookSecret(SECRET);
  const body = '{"ref":"refs/heads/main"}';
  const good = (await sign(SECRET, body)).slice("sha256=".length);
  const flipped = (good[0] === "0" ? "1" : "0") + good.slice(1);
  const other = (await sign("another secret", body)).slice("sha256=".length);
  const cases: [string, string][] = [
    [body + " ", good],
    [body.replace("main", "main2"), good],
    [body, flipped],
    [body, other],
    [body, ""],
    [body, good.slice(0, 62)],
    [body, good + "00"],
    [body, "z".repeat(64)],
    [body, `sha256=${good}`.slice(0, 64)],
  ];
  for (const [text, hex] of cases) {
    assertEquals(verifyHmacSha256(secret, encode(text), { signatureHex: hex }), false, hex);
  }
});

Deno.test("GitLab tokens compare equal only to the secret itself", () => {
  const secret = importWebhookSecret(SECRET);
  assert(verifyToken(secret, SECRET));
  for (const token of ["", SECRET.slice(0, -1), SECRET + " ", SECRET.toLowerCase(), "x"]) {
    assertEquals(verifyToken(secret, token), false, token);
  }
});

Deno.test("hexToBytes", () => {
  assertEquals(hexToBytes("00ff10"), new Uint8Array([0, 255, 16]));
  assertEquals(hexToBytes("0"), null);
  assertEquals(hexToBytes("0g"), null);
});

Deno.test("each provider is told by its headers, the most specific family first", async () => {
  const body = "{}";
  for (const provider of PROVIDERS) {
    const raw = await deliveryHeaders(provider, body, { secret: SECRET, id: `id-${provider}` });
    const read = readDeliveryHeaders(new Headers(raw));
    assert(read, provider);
    assertEquals(read.provider, provider);
    assertEquals(read.id, `id-${provider}`);
    assertEquals(read.event, provider === "gitlab" ? "Push Hook" : "push");
    if (provider === "gitlab") {
      assertEquals(read.signature, { kind: "token", header: "X-Gitlab-Token", token: SECRET });
    } else {
      assertEquals(read.signature.kind, "hmac-sha256", provider);
      if (read.signature.kind === "hmac-sha256") {
        assertEquals(read.signature.hex, createHmac("sha256", SECRET).update(body).digest("hex"));
      }
    }
  }
  assertEquals(readDeliveryHeaders(new Headers({ "content-type": "application/json" })), null);
  assertEquals(readDeliveryHeaders(new Headers({ "x-event": "push" })), null);
});

Deno.test("missing and malformed signature headers are told apart, with the header named", async () => {
  const unsigned = readDeliveryHeaders(new Headers(await deliveryHeaders("github", "{}")));
  assertEquals(unsigned?.signature.kind, "missing");
  const sha1Only = readDeliveryHeaders(
    new Headers({ "x-github-event": "push", "x-hub-signature": "sha1=0123" }),
  );
  assertEquals(sha1Only?.signature.kind, "missing");
  assert(sha1Only?.signature.kind === "missing" && sha1Only.signature.problem.includes("SHA-1"));
  const cases: [Record<string, string>, string][] = [
    [{ "x-github-event": "push", "x-hub-signature-256": "0".repeat(64) }, "X-Hub-Signature-256"],
    [{ "x-github-event": "push", "x-hub-signature-256": "sha256=abc" }, "X-Hub-Signature-256"],
    [
      { "x-gitea-event": "push", "x-gitea-signature": "sha256=" + "0".repeat(64) },
      "X-Gitea-Signature",
    ],
    [{ "x-gogs-event": "push", "x-gogs-signature": "not hex" }, "X-Gogs-Signature"],
  ];
  for (const [headers, name] of cases) {
    const read = readDeliveryHeaders(new Headers(headers));
    assertEquals(read?.signature.kind, "malformed", JSON.stringify(headers));
    assert(read?.signature.kind === "malformed" && read.signature.problem.includes(name));
  }
  const gitlab = readDeliveryHeaders(new Headers({ "x-gitlab-event": "Push Hook" }));
  assert(gitlab?.signature.kind === "missing" && gitlab.signature.expected === "X-Gitlab-Token");
  const noId = readDeliveryHeaders(new Headers({ "x-gitlab-event": "Push Hook" }));
  assertEquals(noId?.id, null);
});
