/**
 * Starts the router as a separate process with exactly the command of `deno task start`
 * (read from deno.json, so the permission flags under test are the shipped ones), waits for
 * its "listening" log line, and keeps its log lines for assertions.
 * @module
 */

const ROOT = new URL("../../", import.meta.url);

let cachedDenoDir: Promise<string> | undefined;

/** The module cache the test process uses, so the router does not download it again. */
function denoDir(): Promise<string> {
  cachedDenoDir ??= (async () => {
    const fromEnv = Deno.env.get("DENO_DIR");
    if (fromEnv) return fromEnv;
    const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
    return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir as string;
  })();
  return cachedDenoDir;
}

/** A running router process. */
export class RouterProcess {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #done: Promise<Deno.CommandStatus>;
  readonly #pumps: Promise<void>[];
  /** Base URL, e.g. `http://127.0.0.1:PORT`. */
  url = "";

  private constructor(child: Deno.ChildProcess, home: string) {
    this.#child = child;
    // The fresh HOME goes with the process.
    this.#done = child.status.then(async (status) => {
      await Deno.remove(home, { recursive: true }).catch(() => undefined);
      return status;
    });
    this.#pumps = [this.#pump(child.stdout), this.#pump(child.stderr)];
  }

  /**
   * Starts the router with `env` (PORT defaults to 0: a free port) and waits until it listens.
   * `task` names the deno.json task to run (default `start`); `denoFlags` go after its `run`
   * (`--inspect=…` for a bench that reads the router's heap).
   */
  static async start(
    env: Record<string, string>,
    options: { task?: string; timeoutMs?: number; args?: string[]; denoFlags?: string[] } = {},
  ): Promise<RouterProcess> {
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    const command: string = config.tasks[options.task ?? "start"];
    const [program, ...args] = command.split(/\s+/);
    if (options.denoFlags) args.splice(args.indexOf("run") + 1, 0, ...options.denoFlags);
    const home = await Deno.makeTempDir({ prefix: "gitfaas-home-" });
    const child = new Deno.Command(program === "deno" ? Deno.execPath() : program, {
      args: [...args, ...(options.args ?? [])],
      cwd: ROOT,
      // A clean environment, so nothing of the developer's (a ~/.kube/config, say) leaks in;
      // HOME is a fresh folder unless the test gives one, DENO_DIR keeps the module cache.
      env: {
        PORT: "0",
        LOG_LEVEL: "debug",
        // Each line at once: tests read the log right after the answer that logged it.
        LOG_FLUSH_INTERVAL: "0",
        NO_COLOR: "1",
        DENO_DIR: await denoDir(),
        HOME: home,
        ...env,
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const router = new RouterProcess(child, home);
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    while (Date.now() < deadline) {
      const line = router.#lines.find((l) => l.includes('"gitfaas listening"'));
      if (line) {
        router.url = `http://127.0.0.1:${JSON.parse(line).port}`;
        return router;
      }
      const exited = await Promise.race([
        router.#done.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 25)),
      ]);
      if (exited) {
        await Promise.all(router.#pumps);
        throw new Error(`the router exited at start:\n${router.output}`);
      }
    }
    await router.stop();
    throw new Error(`the router did not start in time:\n${router.output}`);
  }

  /** Everything it printed so far. */
  get output(): string {
    return this.#lines.join("\n");
  }

  /** Its JSON log lines, parsed. */
  logs(): Record<string, unknown>[] {
    return this.#lines.flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch {
        return [];
      }
    });
  }

  /** `fetch` relative to the router's URL. */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(this.url + path, init);
  }

  /** A request whose JSON answer is read: `{ status, body }`. */
  async call(
    path: string,
    init?: RequestInit,
    // deno-lint-ignore no-explicit-any
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await this.fetch(path, init);
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the assertion message
    }
    return { status: response.status, body, headers: response.headers };
  }

  /** Polls `check` until it holds (or throws after `timeoutMs`). */
  async waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) {
        throw new Error(`condition not met in time; router log:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
    const status = await this.#done;
    await Promise.all(this.#pumps);
    return status;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      this.#lines.push(...lines);
    }
    if (rest) this.#lines.push(rest);
  }
}
