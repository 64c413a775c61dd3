/**
 * Git's delta format (gitformat-pack, "Deltified representation"): the base's size and the
 * result's size as varints, then copy-from-base and insert-literal instructions. The sizes are
 * read first, so a caller can refuse an object by its size before building it.
 * @module
 */

/** A delta that does not fit its base, or is not a delta at all. */
export class DeltaError extends Error {
  override name = "DeltaError";
}

/** The sizes a delta declares, and where its instructions start. */
export interface DeltaHeader {
  baseSize: number;
  resultSize: number;
  start: number;
}

/** Reads the two sizes at the start of a delta. */
export function readDeltaHeader(delta: Uint8Array): DeltaHeader {
  const base = readVarint(delta, 0);
  const result = readVarint(delta, base.next);
  return { baseSize: base.value, resultSize: result.value, start: result.next };
}

/** Builds the object `delta` describes from `base`. */
export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const header = readDeltaHeader(delta);
  if (header.baseSize !== base.length) {
    throw new DeltaError(`delta expects a base of ${header.baseSize} bytes, not ${base.length}`);
  }
  const out = new Uint8Array(header.resultSize);
  let at = 0;
  let i = header.start;
  while (i < delta.length) {
    const op = delta[i++];
    if (op & 0x80) {
      // Copy: bits 0–3 say which offset bytes follow, bits 4–6 which size bytes.
      let offset = 0;
      let size = 0;
      for (let bit = 0; bit < 4; bit++) {
        if (op & (1 << bit)) offset += delta[i++] * 2 ** (8 * bit);
      }
      for (let bit = 0; bit < 3; bit++) {
        if (op & (0x10 << bit)) size += delta[i++] * 2 ** (8 * bit);
      }
      if (size === 0) size = 0x10000;
      if (i > delta.length || offset + size > base.length || at + size > out.length) {
        throw new DeltaError("delta copies outside its base or result");
      }
      out.set(base.subarray(offset, offset + size), at);
      at += size;
    } else if (op > 0) {
      if (i + op > delta.length || at + op > out.length) {
        throw new DeltaError("delta inserts past its end or its result");
      }
      out.set(delta.subarray(i, i + op), at);
      at += op;
      i += op;
    } else {
      throw new DeltaError("delta has a reserved instruction");
    }
  }
  if (at !== out.length) throw new DeltaError("delta result is shorter than it declares");
  return out;
}

function readVarint(bytes: Uint8Array, start: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let i = start;
  while (true) {
    if (i >= bytes.length || shift > 49) throw new DeltaError("delta header is cut short");
    const byte = bytes[i++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(byte & 0x80)) return { value, next: i };
  }
}
