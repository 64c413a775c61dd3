/**
 * The one way the router hashes and compares secrets: SHA-256, HMAC-SHA256 and a constant-time
 * compare, all on `node:crypto` (and SHA-1, which names Git objects). It is synchronous, which the publish path needs (derived names
 * are hashed per object), and it is the only crypto API in `src/`: WebCrypto's digest is
 * asynchronous and would split the code between two APIs.
 * @module
 */

import {
  createHash,
  createHmac,
  createSecretKey,
  type KeyObject,
  timingSafeEqual as nodeTimingSafeEqual,
} from "node:crypto";

/** Data to hash: text (hashed as UTF-8), bytes, or a sequence of both, hashed one after another. */
export type HashInput = string | Uint8Array | readonly (string | Uint8Array)[];

/**
 * The SHA-256 digest of `data`.
 *
 * @example
 * ```ts
 * encodeHex(sha256("abc")).slice(0, 8); // "ba7816bf"
 * ```
 * @param data Text, bytes, or parts hashed in order.
 * @returns The 32-byte digest.
 */
export function sha256(data: HashInput): Uint8Array {
  const hash = createHash("sha256");
  for (const part of typeof data === "string" || data instanceof Uint8Array ? [data] : data) {
    hash.update(part);
  }
  return new Uint8Array(hash.digest());
}

/**
 * The SHA-1 digest of `data`: Git names objects and packs by it (not for secrets).
 *
 * @example
 * ```ts
 * encodeHex(sha1("abc")).slice(0, 8); // "a9993e36"
 * ```
 * @param data Text, bytes, or parts hashed in order.
 * @returns The 20-byte digest.
 */
export function sha1(data: HashInput): Uint8Array {
  const hash = createHash("sha1");
  for (const part of typeof data === "string" || data instanceof Uint8Array ? [data] : data) {
    hash.update(part);
  }
  return new Uint8Array(hash.digest());
}

/** A secret ready for HMAC; import it once with {@linkcode hmacKey} and reuse it. */
export type HmacKey = KeyObject;

/** Imports `secret` (text as UTF-8, or bytes) as an HMAC key. */
export function hmacKey(secret: string | Uint8Array): HmacKey {
  return createSecretKey(typeof secret === "string" ? new TextEncoder().encode(secret) : secret);
}

/** The HMAC-SHA256 of `data` under `key`. */
export function hmacSha256(key: HmacKey, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends only on their lengths, never on
 * where they differ (the name and meaning of std's `timingSafeEqual`). Arrays of different
 * lengths are unequal at once: compare digests of a fixed size when a length is secret.
 *
 * @example
 * ```ts
 * timingSafeEqual(sha256(given), sha256(token));
 * ```
 * @param a Bytes.
 * @param b Bytes.
 * @returns True when they are equal.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && nodeTimingSafeEqual(a, b);
}
