/** The shared helpers of src/lib/ other than async (see lib_async_test.ts). */

import { createHash, createHmac } from "node:crypto";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { decodeUtf8, encodeHex } from "../src/lib/bytes.ts";
import { hmacKey, hmacSha256, sha256, timingSafeEqual } from "../src/lib/crypto.ts";
import { isRecord } from "../src/lib/objects.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("sha256 hashes text, bytes and parts in order", () => {
  assertEquals(
    encodeHex(sha256("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(sha256(encode("abc")), sha256("abc"));
  assertEquals(sha256(["a", encode("b"), "c"]), sha256("abc"));
  assertEquals(sha256([]), new Uint8Array(createHash("sha256").digest()));
});

Deno.test("hmacSha256 agrees with an HMAC computed independently", () => {
  const expected = createHmac("sha256", "key").update("The quick brown fox").digest("hex");
  assertEquals(encodeHex(hmacSha256(hmacKey("key"), encode("The quick brown fox"))), expected);
  assertEquals(
    encodeHex(hmacSha256(hmacKey(encode("key")), encode("The quick brown fox"))),
    expected,
  );
});

Deno.test("timingSafeEqual: equal bytes only; other lengths are unequal, not an error", () => {
  assert(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])));
  assertEquals(timingSafeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
  assertEquals(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])), false);
  assert(timingSafeEqual(new Uint8Array(), new Uint8Array()));
});

Deno.test("decodeUtf8 refuses malformed UTF-8 instead of replacing it", () => {
  assertEquals(decodeUtf8(encode("grüße ✓")), "grüße ✓");
  assertThrows(() => decodeUtf8(new Uint8Array([0x67, 0xff, 0x67])), TypeError);
  assertThrows(() => decodeUtf8(new Uint8Array([0xe2, 0x9c])), TypeError); // cut short
});

Deno.test("encodeHex writes two lowercase digits a byte", () => {
  assertEquals(encodeHex(new Uint8Array([0, 15, 16, 255])), "000f10ff");
  assertEquals(encodeHex(new Uint8Array()), "");
});

Deno.test("isRecord: objects with keys, not null, arrays or scalars", () => {
  assert(isRecord({}));
  assert(isRecord(JSON.parse('{"a":1}')));
  assert(isRecord(Object.create(null)));
  for (const value of [null, undefined, [], [1], "x", 1, true]) {
    assertEquals(isRecord(value), false);
  }
});
