/**
 * Request tokens: what a Job gets as `{{REQUEST_TOKEN}}` so it can post its own request's result
 * and publish children of its own request, and nothing else. A token is stateless (an HMAC of the
 * request uuid, its run and an expiry), so every replica accepts it and a restart forgets nothing.
 * @module
 */

import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

/** What a request token grants: acting as this request of this run until `expiresAt`. */
export interface RequestTokenClaims {
  requestUuid: string;
  runId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

const PREFIX = "gfrt1";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RUN_ID = /^[0-9a-f]{32}$/;

/**
 * The signing key for request tokens, derived from a secret every replica shares
 * (REQUEST_TOKEN_SECRET, or PUBLISH_TOKEN): the derivation keeps a token from ever being usable
 * as, or revealing, the secret itself.
 */
export function requestTokenKey(secret: string): Uint8Array {
  return createHmac("sha256", secret).update("gitfaas request token v1").digest();
}

/** Signs `claims` into a token: `gfrt1.<uuid>.<runId>.<expiry>.<mac>`. */
export function signRequestToken(claims: RequestTokenClaims, key: Uint8Array): string {
  const body = `${PREFIX}.${claims.requestUuid}.${claims.runId}.${claims.expiresAt.toString(36)}`;
  return `${body}.${mac(body, key)}`;
}

/**
 * The claims of a well-formed, correctly signed token that has not expired at `nowSeconds`, or
 * undefined. Never throws: any string may arrive in an Authorization header.
 */
export function verifyRequestToken(
  token: string,
  key: Uint8Array,
  options: { nowSeconds: number },
): RequestTokenClaims | undefined {
  const parts = token.split(".");
  if (parts.length !== 5 || parts[0] !== PREFIX) return undefined;
  const [, requestUuid, runId, expiry, signature] = parts;
  if (!UUID.test(requestUuid) || !RUN_ID.test(runId) || !/^[0-9a-z]{1,12}$/.test(expiry)) {
    return undefined;
  }
  const expected = Buffer.from(mac(parts.slice(0, 4).join("."), key));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const expiresAt = parseInt(expiry, 36);
  if (!(expiresAt > options.nowSeconds)) return undefined;
  return { requestUuid, runId, expiresAt };
}

/** True for a string shaped like a request token (to tell it from PUBLISH_TOKEN). */
export function looksLikeRequestToken(token: string): boolean {
  return token.startsWith(`${PREFIX}.`);
}

function mac(body: string, key: Uint8Array): string {
  return createHmac("sha256", key).update(body).digest("base64url");
}
