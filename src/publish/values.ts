/**
 * The values a publish renders with: the request's own (body, query parameters) and the
 * built-ins the router makes up for each request and each manifest file.
 * @module
 */

import { Buffer } from "node:buffer";
import type { Values } from "../render/template.ts";

/** Length of `{{RANDOM}}`: lowercase letters and digits, so it fits in any object name. */
export const RANDOM_LENGTH = 10;
const RANDOM_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A fresh random string of {@linkcode RANDOM_LENGTH} DNS-safe characters. */
export function randomName(): string {
  let out = "";
  while (out.length < RANDOM_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(RANDOM_LENGTH))) {
      // 252 is the largest multiple of 36 up to 256: skipping bytes above keeps it uniform.
      if (byte < 252 && out.length < RANDOM_LENGTH) out += RANDOM_ALPHABET[byte % 36];
    }
  }
  return out;
}

/** Values shared by every manifest of one publish. */
export interface RequestValues {
  requestUuid: string;
  values: Values;
}

/**
 * The request-wide values: every query parameter by name, then the built-ins, which a query
 * parameter cannot override (a caller must not forge `REQUEST_UUID`).
 */
export function requestValues(
  topic: string,
  body: Uint8Array,
  query: Iterable<[string, string]>,
  requestUuid: string = crypto.randomUUID(),
): RequestValues {
  const values: Record<string, string> = Object.create(null);
  for (const [name, value] of query) values[name] = value;
  const message = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("base64");
  values.MESSAGE = message;
  values.PAYLOAD = message;
  values.REQUEST_UUID = requestUuid;
  values.TOPIC = topic;
  return { requestUuid, values };
}

/** Adds the per-manifest-file built-ins: `RANDOM` and `FUNCTION_UID`. */
export function manifestValues(request: Values): Values {
  return { ...request, RANDOM: randomName(), FUNCTION_UID: crypto.randomUUID() };
}
