/**
 * A Chrome DevTools protocol session with a Deno process started with `--inspect`: commands,
 * evaluation in the process, heap snapshots. Used by the benchmarks that read a router's memory
 * and allocations from inside.
 * @module
 */

/** A Chrome DevTools protocol session over the inspector's WebSocket. */
export class Inspector {
  #next = 1;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();
  readonly #listeners = new Set<(message: Record<string, unknown>) => void>();

  private constructor(readonly socket: WebSocket) {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data as string);
      if (message.id) this.#pending.get(message.id)?.(message);
      else for (const listen of this.#listeners) listen(message);
    };
  }

  /** Connects to the first target of the inspector listening on `port`. */
  static async connect(port: number): Promise<Inspector> {
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const socket = new WebSocket(targets[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    return new Inspector(socket);
  }

  /** Sends one protocol command and resolves with its result. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (message) => {
        this.#pending.delete(id);
        if (message.error) reject(new Error(JSON.stringify(message.error)));
        else resolve(message.result as Record<string, unknown>);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Evaluates an async expression in the router and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as { result: { value: T }; exceptionDetails?: unknown };
    if (result.exceptionDetails) throw new Error(JSON.stringify(result.exceptionDetails));
    return result.result.value;
  }

  /** Writes a heap snapshot of the process to `file`. */
  async snapshot(file: string): Promise<void> {
    const chunks: string[] = [];
    const listen = (message: Record<string, unknown>) => {
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
        chunks.push((message.params as { chunk: string }).chunk);
      }
    };
    this.#listeners.add(listen);
    await this.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    this.#listeners.delete(listen);
    await Deno.writeTextFile(file, chunks.join(""));
  }
}
