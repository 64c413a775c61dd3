/**
 * Inflating the zlib streams of a pack, one after another. Pack entries carry no compressed
 * length, so each stream must be inflated to find where the next entry starts; and a pack may
 * hold tens of thousands of small ones. One zlib stream state is reset and reused for all of
 * them (pako's port of zlib's low-level API): `node:zlib` builds a new engine and buffers for
 * every call, which cost more than the inflating itself (BENCHMARKS.md, "Git: what a sync
 * downloads", indexing a pack).
 *
 * Output goes into a buffer of exactly the declared size, so a stream that would inflate past
 * it stops there: a small entry cannot make a large allocation.
 * @module
 */

import zlib from "pako/lib/zlib/inflate.js";
import ZStream from "pako/lib/zlib/zstream.js";

/** The part of zlib's stream state pako exposes. */
interface Stream {
  state: Record<string, unknown>;
  total_in: number;
  total_out: number;
  adler: number;
  input: Uint8Array;
  next_in: number;
  avail_in: number;
  output: Uint8Array;
  next_out: number;
  avail_out: number;
  msg: string;
}

const api = zlib as unknown as {
  inflateInit(strm: Stream): number;
  inflate(strm: Stream, flush: number): number;
};
const Z_FINISH = 4;
const Z_STREAM_END = 1;

/** A zlib stream that does not inflate to its declared size, or is not zlib at all. */
export class InflateError extends Error {
  override name = "InflateError";
}

/** Inflates zlib streams in a byte array, reusing one state. */
export class Inflater {
  readonly #stream: Stream;

  /** A fresh state. */
  constructor() {
    this.#stream = new (ZStream as unknown as new () => Stream)();
    api.inflateInit(this.#stream);
  }

  /**
   * Inflates the stream starting at `start` (and ending before `end`), which must inflate to
   * exactly `size` bytes; returns the bytes and how many input bytes the stream took.
   */
  inflate(
    input: Uint8Array,
    start: number,
    options: { size: number; end: number },
  ): { data: Uint8Array; consumed: number } {
    const strm = this.#stream;
    reset(strm);
    strm.input = input;
    strm.next_in = start;
    strm.avail_in = options.end - start;
    const data = new Uint8Array(options.size);
    strm.output = data;
    strm.next_out = 0;
    strm.avail_out = options.size;
    const status = api.inflate(strm, Z_FINISH);
    if (status !== Z_STREAM_END) {
      const why = strm.avail_out === 0 && options.size > 0
        ? `inflates past its declared ${options.size} bytes`
        : strm.msg || `zlib status ${status}`;
      throw new InflateError(why);
    }
    if (strm.next_out !== options.size) {
      throw new InflateError(
        `inflates to ${strm.next_out} bytes, not the ${options.size} declared`,
      );
    }
    return { data, consumed: strm.next_in - start };
  }
}

/**
 * zlib's inflateReset, as pako 1.0.11 writes it, except that the code tables are kept: pako
 * allocates new ones on every reset (a large part of indexing a pack of small objects:
 * BENCHMARKS.md, "Git: what a sync downloads"), where zlib in C reuses them, as here; they are
 * rebuilt by each stream that uses them.
 */
function reset(strm: Stream): void {
  const state = strm.state as Record<string, unknown> & { wrap: number };
  state.wsize = 0;
  state.whave = 0;
  state.wnext = 0;
  strm.total_in = strm.total_out = 0;
  state.total = 0;
  strm.msg = "";
  if (state.wrap) strm.adler = state.wrap & 1;
  state.mode = HEAD;
  state.last = 0;
  state.havedict = 0;
  state.dmax = 32768;
  state.head = null;
  state.hold = 0;
  state.bits = 0;
  state.lencode = state.lendyn;
  state.distcode = state.distdyn;
  state.sane = 1;
  state.back = -1;
}

/** pako's mode "waiting for the zlib header". */
const HEAD = 1;
