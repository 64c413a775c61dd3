/**
 * The values a publish renders with: the request's own (body, query parameters) and the
 * built-ins. Every built-in is derived from one per-publish seed: a random UUID, or, for a
 * request with an Idempotency-Key, a hash of topic and key. A retried request therefore renders
 * the very same names and values, and the cluster itself, not this process, remembers what
 * was already applied.
 * @module
 */

import { Buffer } from "node:buffer";
import { encodeHex } from "../lib/bytes.ts";
import { sha256 } from "../lib/crypto.ts";
import { GENERATED_SUFFIX_LENGTH } from "../kube/names.ts";
import type { Values } from "../render/template.ts";

/** The built-in value names; they are strings by nature and never typed as numbers. */
export const BUILT_IN_NAMES: ReadonlySet<string> = new Set([
  "MESSAGE",
  "PAYLOAD",
  "REQUEST_UUID",
  "TOPIC",
  "RANDOM",
  "FUNCTION_UID",
  "TRACEPARENT",
  "REQUEST_TOKEN",
]);

/** Length of `{{RANDOM}}`: lowercase letters and digits, so it fits in any object name. */
export const RANDOM_LENGTH = 10;
const RANDOM_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** The alphabet the API server uses for `generateName` suffixes (no vowels, no look-alikes). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function digest(seed: string, purpose: string): Uint8Array {
  return sha256(`${seed}\0${purpose}`);
}

function pick(bytes: Uint8Array, alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; out.length < length; i++) {
    out += alphabet[bytes[i % bytes.length] % alphabet.length];
  }
  return out;
}

function uuidFrom(bytes: Uint8Array): string {
  const b = bytes.slice(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50; // version 5 layout: name-based
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = encodeHex(b);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** The seed of a publish: its REQUEST_UUID. */
export function publishSeed(topic: string, idempotencyKey?: string): string {
  return idempotencyKey === undefined
    ? crypto.randomUUID()
    : uuidFrom(digest(`gitfaas-idempotency\0${topic}`, idempotencyKey));
}

/**
 * The request-wide values: every query parameter by name, then the built-ins, which a query
 * parameter cannot override (a caller must not forge `REQUEST_UUID`).
 */
export function requestValues(
  topic: string,
  body: Uint8Array,
  options: {
    query: Iterable<[string, string]>;
    requestUuid: string;
    /** This request's `traceparent`, for the step to forward to the next publish. */
    traceparent?: string;
    /** The token the step may act for this request with ("" when tokens are off). */
    requestToken?: string;
  },
): Values {
  const values: Record<string, string> = Object.create(null);
  for (const [name, value] of options.query) values[name] = value;
  const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("base64");
  values.MESSAGE = message;
  values.PAYLOAD = message;
  values.REQUEST_UUID = options.requestUuid;
  values.TOPIC = topic;
  values.TRACEPARENT = options.traceparent ?? "";
  values.REQUEST_TOKEN = options.requestToken ?? "";
  return values;
}

/** Adds the per-manifest-file built-ins `RANDOM` and `FUNCTION_UID` for the `index`th file. */
export function manifestValues(request: Values, index: number): Values {
  const seed = request.REQUEST_UUID;
  return {
    ...request,
    RANDOM: pick(digest(seed, `random:${index}`), RANDOM_ALPHABET, RANDOM_LENGTH),
    FUNCTION_UID: uuidFrom(digest(seed, `function:${index}`)),
  };
}

/** The name a `generateName` object is created under: prefix and 5 derived characters. */
export function generatedName(seed: string, prefix: string, where: string): string {
  return prefix + pick(digest(seed, `name:${where}`), NAME_ALPHABET, GENERATED_SUFFIX_LENGTH);
}

/**
 * Query parameters that say how the router answers (`?wait`) or whether the API server stores
 * anything (`?dryRun`), not what is applied: a retry may add or drop them and stay the same
 * request.
 */
const CONTROL_PARAMETERS: ReadonlySet<string> = new Set(["dryRun", "wait"]);

/**
 * The digest of what a request asks to apply: topic, body and query values, as `sha256:<hex>`.
 * The values are taken as a render takes them (the last of a repeated name wins) and in name
 * order, so a retry that lists them in another order is the same request; the router's own
 * controls (`dryRun`, `wait`) are left out. Headers, the request token and the time are not
 * part of it: the same request sent again has the same digest.
 *
 * @example
 * ```ts
 * requestDigest("convert", body, [["size", "2"]]); // "sha256:3b1f…"
 * ```
 */
export function requestDigest(
  topic: string,
  body: Uint8Array,
  query: Iterable<[string, string]>,
): string {
  const values = new Map<string, string>();
  for (const [name, value] of query) {
    if (!CONTROL_PARAMETERS.has(name)) values.set(name, value);
  }
  const sorted = [...values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = sha256(["gitfaas-request\0", topic, "\0", JSON.stringify(sorted), "\0", body]);
  return `sha256:${encodeHex(hash)}`;
}
