/**
 * Byte helpers: joining chunks, strict UTF-8, UTF-8 length, hex.
 * @module
 */

import { Buffer } from "node:buffer";

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

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** Lowercase hex of `bytes` (the name of std's `encodeHex`). */
export function encodeHex(bytes: Uint8Array): string {
  // A table and string concatenation: Git object ids are converted by the ten thousand.
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i]];
  return text;
}

/** The bytes of lowercase or uppercase hex (the name of std's `decodeHex`); throws on bad hex. */
export function decodeHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new TypeError(`not hex: ${JSON.stringify(hex.slice(0, 80))}`);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const high = nibble(hex.charCodeAt(2 * i));
    const low = nibble(hex.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) throw new TypeError(`not hex: ${JSON.stringify(hex.slice(0, 80))}`);
    bytes[i] = (high << 4) | low;
  }
  return bytes;
}

/** The value of one hex digit's character code, or -1. */
function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/**
 * The length of `text` in UTF-8, in bytes, without encoding it (a value may be megabytes
 * long); a lone surrogate counts 3, as `TextEncoder` writes U+FFFD for it.
 */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
