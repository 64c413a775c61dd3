/**
 * What slow, idle and heavy clients cost the router (issue 14, items 5 and 6): connections it
 * still holds after a while, and its resident memory. Each scenario starts a fresh router
 * process (as `deno task start` runs it, default settings unless `--env=NAME=value,…`) against
 * the loopback Git server and the API simulator, then:
 *
 * - `slow-headers`: 250 connections send a request head one header line per second, never
 *   finishing it;
 * - `stalled-bodies`: 250 publishes declare a 1 MiB body, send 1,000,000 bytes of it and stall;
 * - `idle`: 250 keep-alive connections make one request each, then stay idle;
 * - `slow-api`: 200 publishes of a 1 MiB body at once to a topic that puts the message in a
 *   ConfigMap, the API server answering after 5 s.
 *
 * For each: connections still open after `--wait` seconds (default: 20 for slow headers, 40 for
 * stalled bodies, 80 for idle), the answers the clients got, and the router's resident memory
 * (VmRSS before and at the end, VmHWM the peak).
 *
 * Run: `deno run -A bench/slow_clients.ts [--only=slow-headers,stalled-bodies,idle,slow-api]
 * [--wait=<seconds>] [--env=NAME=value,…]`.
 * @module
 */

import { configJson, INPUT_CONFIG_MAP, type Stack, startStack } from "../tests/support/fixtures.ts";
import { findChild, memoryOf } from "./lib/proc.ts";

const SCENARIOS = ["slow-headers", "stalled-bodies", "idle", "slow-api"] as const;
type Scenario = typeof SCENARIOS[number];

const flags = Object.fromEntries(
  Deno.args.map((arg) => arg.replace(/^--/, "").split(/=(.*)/s)).map(([k, v]) => [k, v ?? ""]),
);
const only = (flags.only ? flags.only.split(",") : SCENARIOS) as Scenario[];
const extraEnv = Object.fromEntries(
  (flags.env ? flags.env.split(",") : []).map((pair: string) => pair.split("=")),
);
const CONNECTIONS = 250;
const MiB = 1024 * 1024;
const encoder = new TextEncoder();

/** One client connection and what became of it. */
class Client {
  readonly conn: Deno.Conn;
  /** The first line the router answered, if any. */
  statusLine: string | undefined;
  /** When the router closed the connection (ms since the scenario started), if it did. */
  closedAt: number | undefined;
  readonly #started: number;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.Conn, started: number) {
    this.conn = conn;
    this.#started = started;
    this.#reading = this.#read();
  }

  static async open(port: number, started: number): Promise<Client> {
    return new Client(await Deno.connect({ hostname: "127.0.0.1", port }), started);
  }

  /** Writes, ignoring a connection the router already closed. */
  async send(bytes: Uint8Array): Promise<boolean> {
    try {
      let written = 0;
      while (written < bytes.byteLength) written += await this.conn.write(bytes.subarray(written));
      return true;
    } catch {
      return false;
    }
  }

  get open(): boolean {
    return this.closedAt === undefined;
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    let text = "";
    try {
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
        this.statusLine ??= text.includes("\r\n") ? text.slice(0, text.indexOf("\r\n")) : undefined;
        // A keep-alive answer: the request is answered, the connection stays (idle scenario).
        if (text.includes("\r\n\r\n")) text = "";
      }
    } catch {
      // reset by the router, or closed by us
    }
    this.closedAt ??= performance.now() - this.#started;
  }
}

interface Result {
  scenario: Scenario;
  clients: number;
  waitedSeconds: number;
  stillOpen: number;
  answers: Record<string, number>;
  rssBeforeMB: number;
  rssAfterLoadMB: number;
  rssEndMB: number;
  peakRssMB: number;
  medianClosedAfterSeconds?: number;
}

async function withRouter<T>(
  env: Record<string, string>,
  run: (stack: Stack, pid: number) => Promise<T>,
  files?: Record<string, string>,
): Promise<T> {
  const stack = await startStack({ env: { LOG_LEVEL: "info", ...env, ...extraEnv }, files });
  try {
    const pid = findChild("main.ts");
    if (pid === undefined) throw new Error("cannot find the router process");
    return await run(stack, pid);
  } finally {
    await stack.close();
  }
}

function tally(clients: Client[]): Record<string, number> {
  const answers: Record<string, number> = {};
  for (const c of clients) {
    const key = c.statusLine ?? (c.open ? "(none yet)" : "(closed without an answer)");
    answers[key] = (answers[key] ?? 0) + 1;
  }
  return answers;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function heldConnections(
  scenario: Scenario,
  waitSeconds: number,
  start: (client: Client) => Promise<void>,
  keepTalking?: (client: Client) => Promise<void>,
): Promise<Result> {
  return await withRouter({}, async (stack, pid) => {
    const port = Number(new URL(stack.router.url).port);
    const rssBeforeMB = memoryOf(pid).rssMB;
    const started = performance.now();
    const clients: Client[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const client = await Client.open(port, started);
      clients.push(client);
      await start(client);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfterLoadMB = memoryOf(pid).rssMB;
    const end = started + waitSeconds * 1000;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 1000));
      if (keepTalking) await Promise.all(clients.filter((c) => c.open).map(keepTalking));
    }
    const result: Result = {
      scenario,
      clients: clients.length,
      waitedSeconds: waitSeconds,
      stillOpen: clients.filter((c) => c.open).length,
      answers: tally(clients),
      rssBeforeMB,
      rssAfterLoadMB,
      rssEndMB: memoryOf(pid).rssMB,
      peakRssMB: memoryOf(pid).peakRssMB,
      medianClosedAfterSeconds: round(
        (median(clients.flatMap((c) => c.closedAt === undefined ? [] : [c.closedAt])) ?? NaN) /
          1000,
      ),
    };
    await Promise.all(clients.map((c) => c.close()));
    return result;
  });
}

function round(value: number): number | undefined {
  return Number.isFinite(value) ? Math.round(value * 10) / 10 : undefined;
}

const wait = (fallback: number) => Number(flags.wait || fallback);

const runs: Record<Scenario, () => Promise<Result>> = {
  "slow-headers": () =>
    heldConnections(
      "slow-headers",
      wait(20),
      async (c) => {
        await c.send(encoder.encode("POST /publish/echo HTTP/1.1\r\nHost: router\r\n"));
      },
      async (c) => {
        await c.send(encoder.encode("X-Slow: yes\r\n"));
      },
    ),
  "stalled-bodies": () => {
    const part = new Uint8Array(1_000_000).fill(0x61);
    return heldConnections("stalled-bodies", wait(40), async (c) => {
      await c.send(encoder.encode(
        `POST /publish/echo HTTP/1.1\r\nHost: router\r\nContent-Type: text/plain\r\nContent-Length: ${MiB}\r\n\r\n`,
      ));
      await c.send(part);
    });
  },
  "idle": () =>
    heldConnections("idle", wait(80), async (c) => {
      await c.send(encoder.encode("GET /healthz HTTP/1.1\r\nHost: router\r\n\r\n"));
    }),
  "slow-api": () =>
    withRouter({}, async (stack, pid) => {
      const rssBeforeMB = memoryOf(pid).rssMB;
      stack.kube.setLatency(5000);
      const body = "m".repeat(MiB - 16);
      let peak = rssBeforeMB;
      const sampler = setInterval(() => peak = Math.max(peak, memoryOf(pid).rssMB), 100);
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 200 }, async () => {
        const response = await stack.router.fetch("/publish/input", {
          method: "POST",
          body,
          headers: { "content-type": "text/plain" },
        });
        await response.body?.cancel();
        return String(response.status);
      }));
      clearInterval(sampler);
      const counts: Record<string, number> = {};
      for (const a of answers) counts[a] = (counts[a] ?? 0) + 1;
      return {
        scenario: "slow-api",
        clients: 200,
        waitedSeconds: round((performance.now() - started) / 1000)!,
        stillOpen: 0,
        answers: counts,
        rssBeforeMB,
        rssAfterLoadMB: peak,
        rssEndMB: memoryOf(pid).rssMB,
        peakRssMB: memoryOf(pid).peakRssMB,
      };
    }, {
      // The message in a ConfigMap: as an environment variable, 1 MiB is refused (413) before
      // anything is applied, and no body would wait for the API server.
      "config.json": configJson({ input: ["input.yaml"] }),
      "input.yaml": INPUT_CONFIG_MAP,
    }),
};

const results: Result[] = [];
for (const scenario of only) {
  console.error(`${scenario}…`);
  const result = await runs[scenario]();
  console.error(JSON.stringify(result));
  results.push(result);
}
console.log(JSON.stringify(
  { date: new Date().toISOString(), env: extraEnv, deno: Deno.version.deno, results },
  null,
  2,
));
