/**
 * Bench helper processes (`sim_server.ts`, `floor_server.ts`, `upstream_server.ts`,
 * `sync_child.ts`, `rss_probe.ts`): each prints one JSON line when ready and one JSON line per
 * command read from its standard input.
 * @module
 */

const BENCH = new URL("../", import.meta.url);

/** A running helper process. */
export class BenchChild {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  /** Its first line, parsed. */
  ready: Record<string, unknown> = {};

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#lines = lines(child.stdout)[Symbol.asyncIterator]();
  }

  /** Starts `bench/<script>` with `args` and waits for its ready line. */
  static async start(
    script: string,
    args: string[] = [],
    options: { env?: Record<string, string>; denoFlags?: string[]; timeoutMs?: number } = {},
  ): Promise<BenchChild> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...(options.denoFlags ?? []), new URL(script, BENCH).pathname, ...args],
      env: { NO_COLOR: "1", ...options.env },
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const helper = new BenchChild(child);
    helper.ready = await helper.#next(options.timeoutMs ?? 60_000, script);
    return helper;
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Sends one command line and returns the JSON line answering it. */
  async command(line: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
    return this.#next(timeoutMs, line);
  }

  /** Waits for the process to exit by itself (after its last line). */
  async finished(): Promise<Deno.CommandStatus> {
    await this.#stdin.close().catch(() => undefined);
    return await this.#child.status;
  }

  /** Ends the process (SIGTERM) and waits for it. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => undefined);
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }

  async #next(timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to "${what}" in time`)), timeoutMs);
    });
    try {
      const next = await Promise.race([this.#lines.next(), timeout]);
      if (next.done) throw new Error(`the helper ended before answering "${what}"`);
      return JSON.parse(next.value);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Reads JSON-line commands from standard input (for the helpers themselves). */
export function commands(): AsyncIterable<string> {
  return lines(Deno.stdin.readable);
}

/** Prints one JSON line (for the helpers themselves). */
export function reply(value: unknown): void {
  console.log(JSON.stringify(value));
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    const parts = rest.split("\n");
    rest = parts.pop()!;
    for (const line of parts) if (line.trim()) yield line;
  }
  if (rest.trim()) yield rest;
}
