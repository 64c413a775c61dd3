/**
 * Signature checks for webhook deliveries: HMAC-SHA256 of the raw body (GitHub, Gitea,
 * Forgejo, Gogs) and a shared token (GitLab). Every comparison takes the same time whatever
 * the bytes, so an attacker cannot find a valid signature byte by byte.
 * @module
 */

const encoder = new TextEncoder();

/** The shared secret, ready for HMAC. Import it once and reuse it. */
export interface WebhookSecret {
  readonly hmacKey: CryptoKey;
  /** SHA-256 of the secret, for comparing tokens without revealing their length. */
  readonly digest: Uint8Array;
}

/** Imports `secret` for {@linkcode verifyHmacSha256} and {@linkcode verifyToken}. */
export async function importWebhookSecret(secret: string): Promise<WebhookSecret> {
  const bytes = encoder.encode(secret);
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    bytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return { hmacKey, digest: await sha256(bytes) };
}

/**
 * Whether `signatureHex` (64 hex digits, either case) is the HMAC-SHA256 of `body` under the
 * secret. A signature that is not 64 hex digits is simply not valid.
 */
export async function verifyHmacSha256(
  secret: WebhookSecret,
  body: Uint8Array,
  options: { signatureHex: string },
): Promise<boolean> {
  const given = hexToBytes(options.signatureHex);
  if (!given || given.length !== 32) return false;
  const expected = new Uint8Array(
    await crypto.subtle.sign("HMAC", secret.hmacKey, body as Uint8Array<ArrayBuffer>),
  );
  return timingSafeEqual(expected, given);
}

/** Whether `token` equals the secret, compared through SHA-256 digests in constant time. */
export async function verifyToken(secret: WebhookSecret, token: string): Promise<boolean> {
  return timingSafeEqual(await sha256(encoder.encode(token)), secret.digest);
}

/**
 * Compares two byte arrays in time that depends only on their lengths, never on where they
 * differ. Arrays of different lengths are unequal (lengths are not secret here: both sides
 * are digests of a fixed size).
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** Bytes of a hex string, or null when it is not an even number of hex digits. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}
