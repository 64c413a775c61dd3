/**
 * Git's pkt-line framing (gitprotocol-common): four hex digits of length, then the payload.
 * `0000` ends a message (flush), `0001` separates sections (delim, protocol v2), `0002` ends a
 * response (protocol v2, stateless transports).
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Largest pkt-line, length prefix included (LARGE_PACKET_MAX in Git). */
const MAX_PACKET = 65520;

/** The flush packet, `0000`. */
export const FLUSH: Uint8Array = encoder.encode("0000");
/** The delimiter packet, `0001`. */
export const DELIM: Uint8Array = encoder.encode("0001");

/** One packet read: its payload, or one of the special packets. */
export type Packet = Uint8Array | "flush" | "delim" | "end";

const SPECIAL: readonly ("flush" | "delim" | "end")[] = ["flush", "delim", "end"];

/** Malformed framing: the answer is not Git's protocol, or it was cut short. */
export class PktLineError extends Error {
  override name = "PktLineError";
}

/** Encodes one line of text (a newline is added) as a pkt-line. */
export function pktLine(text: string): Uint8Array {
  const payload = encoder.encode(`${text}\n`);
  const length = payload.length + 4;
  if (length > MAX_PACKET) throw new PktLineError(`pkt-line too long: ${length} bytes`);
  const packet = new Uint8Array(length);
  packet.set(encoder.encode(length.toString(16).padStart(4, "0")));
  packet.set(payload, 4);
  return packet;
}

/** The text of a data packet, without its trailing newline. */
export function packetText(packet: Uint8Array): string {
  const text = decoder.decode(packet);
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** Reads packets from a byte stream, whatever the chunk boundaries. */
export class PktLineReader {
  readonly #source: AsyncIterator<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);
  #position = 0;
  #ended = false;

  /** Reads from `source`; the reader owns it from now on. */
  constructor(source: AsyncIterable<Uint8Array>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** The next packet, or undefined when the stream ends between packets. */
  async read(): Promise<Packet | undefined> {
    if (!(await this.#fill(4))) {
      if (this.#available() === 0) return undefined;
      throw new PktLineError("the answer ended inside a pkt-line length");
    }
    const header = decoder.decode(this.#buffer.subarray(this.#position, this.#position + 4));
    if (!/^[0-9a-f]{4}$/.test(header)) {
      throw new PktLineError(`not a pkt-line: ${JSON.stringify(header)}`);
    }
    const length = parseInt(header, 16);
    if (length < 4) {
      const special = SPECIAL[length];
      if (!special) throw new PktLineError(`invalid pkt-line length ${length}`);
      this.#position += 4;
      return special;
    }
    if (length > MAX_PACKET) throw new PktLineError(`pkt-line too long: ${length} bytes`);
    if (!(await this.#fill(length))) throw new PktLineError("the answer ended inside a pkt-line");
    const payload = this.#buffer.slice(this.#position + 4, this.#position + length);
    this.#position += length;
    return payload;
  }

  /** Stops reading: the rest of the stream is not wanted (the request is aborted). */
  async cancel(): Promise<void> {
    this.#ended = true;
    await this.#source.return?.();
  }

  #available(): number {
    return this.#buffer.length - this.#position;
  }

  /** Makes `n` bytes available at the position; false when the stream ends first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#available() < n) {
      if (this.#ended) return false;
      const next = await this.#source.next();
      if (next.done) {
        this.#ended = true;
        return false;
      }
      const rest = this.#buffer.subarray(this.#position);
      const joined = new Uint8Array(rest.length + next.value.length);
      joined.set(rest);
      joined.set(next.value, rest.length);
      this.#buffer = joined;
      this.#position = 0;
    }
    return true;
  }
}
