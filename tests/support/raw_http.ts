/**
 * A raw TCP client for what `fetch` cannot do: send a request head or body a piece at a time,
 * stall half-way, go away mid-body, or keep a connection idle, and see exactly what the server
 * answered and when it closed the connection.
 * @module
 */

/** One connection to a server on 127.0.0.1. */
export class RawConnection {
  readonly #conn: Deno.Conn;
  readonly #opened = performance.now();
  #received = "";
  #closedAt: number | undefined;
  readonly #closed = Promise.withResolvers<void>();
  #changed = Promise.withResolvers<void>();

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#read();
  }

  /** Connects to `url`'s port on 127.0.0.1. */
  static async open(url: string): Promise<RawConnection> {
    const port = Number(new URL(url).port);
    return new RawConnection(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Everything the server sent so far. */
  get received(): string {
    return this.#received;
  }

  /** Milliseconds from opening to the server closing the connection; undefined while open. */
  get closedAfterMs(): number | undefined {
    return this.#closedAt === undefined ? undefined : this.#closedAt - this.#opened;
  }

  /** Sends `data`; false when the server has closed the connection. */
  async send(data: string | Uint8Array): Promise<boolean> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    try {
      let written = 0;
      while (written < bytes.byteLength) written += await this.#conn.write(bytes.subarray(written));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Waits until what the server sent satisfies `check`; throws when the connection closes
   * without it, or after `ms`.
   */
  async waitFor(check: (received: string) => boolean, ms: number): Promise<string> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (check(this.#received)) return this.#received;
      const left = deadline - performance.now();
      if (left <= 0 || this.#closedAt !== undefined) {
        const state = this.#closedAt === undefined ? "still open" : "closed";
        throw new Error(
          `not received within ${ms} ms (connection ${state}); got: ${
            JSON.stringify(this.#received.slice(0, 300))
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#changed.promise,
        new Promise((r) => timer = setTimeout(r, left)),
      ]);
      clearTimeout(timer);
    }
  }

  /**
   * Waits until the server closes the connection, or throws after `ms`; resolves with the
   * milliseconds from opening to the close.
   */
  async closedWithin(ms: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#closed.promise.then(() => false),
      new Promise<boolean>((r) => timer = setTimeout(() => r(true), ms)),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      throw new Error(
        `the server still holds the connection after ${ms} ms; got: ${
          JSON.stringify(this.#received.slice(0, 300))
        }`,
      );
    }
    return this.closedAfterMs!;
  }

  /** Whether the server still holds the connection. */
  get open(): boolean {
    return this.#closedAt === undefined;
  }

  /** Closes it from this side (going away). */
  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#closed.promise;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        if (n === null) break;
        this.#received += decoder.decode(buffer.subarray(0, n), { stream: true });
        this.#notify();
      }
    } catch {
      // reset by the server, or closed here
    }
    this.#closedAt = performance.now();
    this.#closed.resolve();
    this.#notify();
  }

  #notify(): void {
    this.#changed.resolve();
    this.#changed = Promise.withResolvers<void>();
  }
}

/** The status code of the first answer in `received`, or undefined. */
export function statusOf(received: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
  return match ? Number(match[1]) : undefined;
}

/** The JSON body of a single answer with Content-Length in `received`. */
export function jsonBodyOf(received: string): unknown {
  return JSON.parse(received.slice(received.indexOf("\r\n\r\n") + 4));
}
