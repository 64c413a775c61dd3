/**
 * A router started from any source tree with that tree's own `deno task start` command, for
 * benchmarks that compare trees (A/B) or run the router under a tracing tool. Its port is read
 * from the "gitfaas listening" log line; the rest of its output is discarded as raw bytes (so
 * reading the log costs the bench next to nothing), written to a file, or handed over line by
 * line.
 * @module
 */

/** How to start a router from a tree. */
export interface TreeRouterOptions {
  /** The source tree whose `deno.json` start task runs (default: this one). */
  tree?: string;
  /** The router's environment, on top of PORT, NO_COLOR, HOME and DENO_DIR; nothing else leaks in. */
  env: Record<string, string>;
  /** V8 flags added to those of the start command, comma-separated. */
  v8Flags?: string;
  /** Deno flags put right after `run` (such as `--cpu-prof` or `--inspect=…`). */
  denoFlags?: string[];
  /** A program and its arguments to run Deno through (such as `stdbuf -oL`). */
  wrap?: string[];
  /** Every line of the router's standard output, decoded; without it, output is not decoded. */
  onLine?: (line: string) => void;
  /** A file to write the output to, as it comes (when `onLine` is not given). */
  stdoutFile?: string;
}

/** A router that answers `/readyz`. */
export interface TreeRouter {
  pid: number;
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  /** Stops it with SIGTERM and waits for its output to end. */
  stop(): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url).pathname;

/** The module cache this process uses, so a router with a fresh HOME does not download again. */
export async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

/** The start task's arguments after `deno`, with `v8Flags` merged into its `--v8-flags`. */
export async function startArgs(tree: string, v8Flags?: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${tree}/deno.json`));
  const [, ...args] = (config.tasks.start as string).split(/\s+/);
  if (!v8Flags) return args;
  if (!args.some((a) => a.startsWith("--v8-flags="))) {
    return [args[0], `--v8-flags=${v8Flags}`, ...args.slice(1)];
  }
  return args.map((a) => a.startsWith("--v8-flags=") ? `${a},${v8Flags}` : a);
}

/** Starts a router and resolves once it is ready. */
export async function startTreeRouter(options: TreeRouterOptions): Promise<TreeRouter> {
  const tree = options.tree ?? ROOT;
  const [run, ...startFlags] = await startArgs(tree, options.v8Flags);
  const args = [run, ...(options.denoFlags ?? []), ...startFlags];
  const [program, ...wrapArgs] = options.wrap ?? [];
  const home = await Deno.makeTempDir({ prefix: "gitfaas-home-" });
  const child = new Deno.Command(program ?? Deno.execPath(), {
    args: program ? [...wrapArgs, Deno.execPath(), ...args] : args,
    cwd: tree,
    env: { PORT: "0", NO_COLOR: "1", HOME: home, DENO_DIR: await denoDir(), ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const { port, rest } = await listeningPort(child.stdout.getReader(), options.onLine);
  const output = drain(rest, options);
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    const ready = await fetch(`${origin}/readyz`).catch(() => undefined);
    await ready?.body?.cancel();
    if (ready?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid,
    origin,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await output;
      await Deno.remove(home, { recursive: true });
    },
  };
}

type Reader = ReadableStreamDefaultReader<Uint8Array>;

/** Reads until the "gitfaas listening" line; lines before it and the partial rest go on. */
async function listeningPort(
  reader: Reader,
  onLine?: (line: string) => void,
): Promise<{ port: number; rest: { reader: Reader; text: string } }> {
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the router exited before listening:\n${text}`);
    text += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = text.indexOf("\n")) >= 0) {
      const line = text.slice(0, end);
      text = text.slice(end + 1);
      onLine?.(line);
      const match = /"gitfaas listening".*?"port":(\d+)/.exec(line);
      if (match) return { port: Number(match[1]), rest: { reader, text } };
    }
  }
}

/** The output after the port: to `onLine`, to a file, or discarded undecoded. */
async function drain(
  rest: { reader: Reader; text: string },
  options: TreeRouterOptions,
): Promise<void> {
  const { reader } = rest;
  if (options.onLine) {
    const decoder = new TextDecoder();
    let text = rest.text;
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += decoder.decode(read.value, { stream: true });
      const lines = text.split("\n");
      text = lines.pop()!;
      for (const line of lines) options.onLine(line);
    }
    if (text) options.onLine(text);
    return;
  }
  const file = options.stdoutFile
    ? await Deno.open(options.stdoutFile, { write: true, create: true })
    : undefined;
  await file?.write(new TextEncoder().encode(rest.text));
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    await file?.write(read.value);
  }
  file?.close();
}
