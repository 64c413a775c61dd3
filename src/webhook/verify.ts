/**
 * Signature checks for webhook deliveries: HMAC-SHA256 of the raw body (GitHub, Gitea,
 * Forgejo, Gogs) and a shared token (GitLab). Every comparison takes the same time whatever
 * the bytes, so an attacker cannot find a valid signature byte by byte.
 * @module
 */

import { type HmacKey, hmacKey, hmacSha256, sha256, timingSafeEqual } from "../lib/crypto.ts";

/** The shared secret, ready for HMAC. Import it once and reuse it. */
export interface WebhookSecret {
  readonly hmacKey: HmacKey;
  /** SHA-256 of the secret, for comparing tokens without revealing their length. */
  readonly digest: Uint8Array;
}

/** Imports `secret` for {@linkcode verifyHmacSha256} and {@linkcode verifyToken}. */
export function importWebhookSecret(secret: string): WebhookSecret {
  return { hmacKey: hmacKey(secret), digest: sha256(secret) };
}

/**
 * Whether `signatureHex` (64 hex digits, either case) is the HMAC-SHA256 of `body` under the
 * secret. A signature that is not 64 hex digits is simply not valid.
 */
export function verifyHmacSha256(
  secret: WebhookSecret,
  body: Uint8Array,
  options: { signatureHex: string },
): boolean {
  const given = hexToBytes(options.signatureHex);
  if (!given || given.length !== 32) return false;
  return timingSafeEqual(hmacSha256(secret.hmacKey, body), given);
}

/** Whether `token` equals the secret, compared through SHA-256 digests in constant time. */
export function verifyToken(secret: WebhookSecret, token: string): boolean {
  return timingSafeEqual(sha256(token), secret.digest);
}

/** Bytes of a hex string, or null when it is not an even number of hex digits. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}
