/**
 * Byte helpers: joining chunks, strict UTF-8, hex.
 * @module
 */

/** Joins chunks into one array (the chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `bytes` as UTF-8 text; throws a `TypeError` on malformed UTF-8 instead of putting U+FFFD in
 * its place, so text that is not UTF-8 is refused rather than silently changed. A leading
 * byte-order mark is dropped.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return strictUtf8.decode(bytes);
}

/** Lowercase hex of `bytes` (the name of std's `encodeHex`). */
export function encodeHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
