/**
 * The Deno permissions the router runs with: the Dockerfile's command is exactly `deno task
 * start`, it grants no more than the router uses, the router works end to end under it (from
 * the Dockerfile's command, as a container would run it), and what it withholds is really
 * refused: real attempts, each answered by Deno's NotCapable error.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { permissionFlags, readDockerfile, ROOT, startCommand } from "./support/deploy_files.ts";
import { configJson, ECHO_JOB } from "./support/fixtures.ts";
import { GitServer } from "./support/git_server.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { ENV_NAMES, readSettings } from "../src/settings/settings.ts";
import { connectKube } from "../src/kube/connection.ts";

const ALLOWED_WRITES = ["/var/lib/gitfaas", "/tmp"];

Deno.test("the Dockerfile runs exactly the command of deno task start", async () => {
  const dockerfile = await readDockerfile();
  assertEquals(dockerfile.entrypoint, undefined, "the base image's entrypoint (tini) runs CMD");
  assertEquals(dockerfile.cmd, await startCommand());
  assertEquals(dockerfile.cmd!.slice(0, 2), ["deno", "run"]);
  assertEquals(dockerfile.cmd!.at(-1), "main.ts");
});

Deno.test("the start command grants only what the router uses", async () => {
  const argv = await startCommand();
  const flags = permissionFlags(argv);
  assert(argv.includes("--no-prompt"), "a missing permission must fail, never wait on a prompt");
  assertEquals([...flags.keys()].sort(), [
    "--allow-env",
    "--allow-net",
    "--allow-read",
    "--allow-sys",
    "--allow-write",
    "--deny-read",
    "--ignore-env",
  ]);
  assertEquals(flags.get("--allow-net"), true);
  assertEquals(flags.get("--allow-read"), true);
  assertEquals(flags.get("--deny-read"), "/proc");
  assertEquals(flags.get("--ignore-env"), true);
  assertEquals(flags.get("--allow-sys"), "homedir,hostname");
  assertEquals(flags.get("--allow-write"), ALLOWED_WRITES.join(","));

  const granted = String(flags.get("--allow-env")).split(",");
  const expected = `--allow-env=${ENV_NAMES.join(",")}`;
  const missing = ENV_NAMES.filter((n) => !granted.includes(n));
  const extra = granted.filter((n) => !ENV_NAMES.includes(n));
  assertEquals(missing, [], `not granted (put ${expected} in deno.json and the Dockerfile)`);
  assertEquals(
    extra,
    [],
    `granted but never read (put ${expected} in deno.json and the Dockerfile)`,
  );
  assertEquals(new Set(granted).size, granted.length, "each name once");

  const dataDir = (await readDockerfile()).env.DATA_DIR;
  assert(ALLOWED_WRITES.includes(dataDir), `the image's DATA_DIR ${dataDir} is writable`);
});

Deno.test("the router reads no environment variable outside ENV_NAMES", async () => {
  const read = new Set<string>();
  const recording = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return target[key as string];
      },
      has(target, key) {
        if (typeof key === "string") read.add(key);
        return key in target;
      },
    }) as Record<string, string | undefined>;
  readSettings(recording({ GIT_URL: "https://git.example.com/team/pipelines.git" }));
  readSettings(recording({}), { sourceDir: "examples" });
  // The Kubernetes login reads its variables from the same map (no login here: it gives up).
  const home = await Deno.makeTempDir({ prefix: "gitfaas-home-" });
  try {
    await connectKube({ env: recording({ HOME: home }), maxInflight: 1 }).then(
      () => assert(false, "no login exists here"),
      (error: Error) => assertStringIncludes(error.message, "no Kubernetes login found"),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
  const unknown = [...read].filter((name) => !ENV_NAMES.includes(name));
  assertEquals(unknown, [], "read but not in ENV_NAMES (src/settings/settings.ts)");
  assert(read.has("GIT_URL") && read.has("HOME") && read.has("KUBERNETES_SERVICE_HOST"));
});

/** A process started with the Dockerfile's command, its output collected line by line. */
class Started {
  readonly lines: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #pumps: Promise<void>[];

  constructor(argv: string[], env: Record<string, string>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: argv.slice(1),
      cwd: ROOT,
      clearEnv: true,
      env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump(this.#child.stdout), this.#pump(this.#child.stderr)];
  }

  get output(): string {
    return this.lines.join("\n");
  }

  /** Waits for a line containing `text`; throws (with the output) on exit or timeout. */
  async line(text: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.#child.status.then(() => exited = true);
    while (Date.now() < deadline) {
      const found = this.lines.find((l) => l.includes(text));
      if (found) return found;
      if (exited) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.stop();
    throw new Error(`no line with ${JSON.stringify(text)}; output:\n${this.output}`);
  }

  /** Sends `signal` (none: waits for the process to end by itself) and waits for the exit. */
  async stop(signal: Deno.Signal | null = "SIGTERM"): Promise<Deno.CommandStatus> {
    if (signal) {
      try {
        this.#child.kill(signal);
      } catch {
        // already gone
      }
    }
    const status = await this.#child.status;
    await Promise.all(this.#pumps);
    return status;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
    }
    if (rest) this.lines.push(rest);
  }
}

/** The module cache the tests use, so the started process downloads nothing. */
async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const output = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(output.stdout)).denoDir;
}

/** A Git server with one topic, a simulator with a service account, and the env of a pod. */
async function withCluster(
  run: (env: Record<string, string>, kube: KubeSim, dir: string) => Promise<void>,
): Promise<void> {
  const git = await GitServer.start();
  await git.createRepo("pipelines", {
    files: { "config.json": configJson({ echo: ["echo.yaml"] }), "echo.yaml": ECHO_JOB },
  });
  const kube = await KubeSim.start({ tls: true, namespaces: ["default", "gitfaas"] });
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-permissions-" });
  try {
    const prefix = `${dir}/root`;
    const serviceAccount = await kube.writeServiceAccount(prefix, "gitfaas");
    await Deno.mkdir(`${dir}/home`);
    await run(
      {
        DENO_DIR: await denoDir(),
        HOME: `${dir}/home`,
        PORT: "0",
        DATA_DIR: `${dir}/data`,
        GIT_URL: git.repoUrl("pipelines"),
        GIT_USER_NAME: git.user,
        GIT_PERSONAL_TOKEN: git.token,
        SERVICE_ACCOUNT_PREFIX: prefix,
        ...serviceAccount,
      },
      kube,
      dir,
    );
  } finally {
    await kube.close();
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the Dockerfile's command syncs and publishes end to end", async () => {
  const argv = (await readDockerfile()).cmd!;
  await withCluster(async (env, kube) => {
    const router = new Started(argv, env);
    try {
      const port = JSON.parse(await router.line('"gitfaas listening"')).port;
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      let ready = 0;
      while (ready !== 200 && Date.now() < deadline) {
        const response = await fetch(`${url}/readyz`);
        await response.body?.cancel();
        ready = response.status;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      assertEquals(ready, 200, router.output);
      const response = await fetch(`${url}/publish/echo`, { method: "POST", body: "hello" });
      const report = await response.json();
      assertEquals(response.status, 202, JSON.stringify(report));
      assertEquals(report.objects[0].namespace, "gitfaas");
      assertEquals(kube.objects({ kind: "Job", namespace: "gitfaas" }).length, 1);
      assert((await Array.fromAsync(Deno.readDir(env.DATA_DIR))).length > 0, "the clone cache");
      assertEquals(router.output.includes(env.GIT_PERSONAL_TOKEN), false);
    } finally {
      const status = await router.stop();
      assertEquals(status.code, 0, router.output);
    }
  });
});

/** Run with the start command's flags in place of main.ts: each attempt and what came of it. */
const PROBE = `
import os from "node:os";
const results = {};
const attempt = (name, run) => {
  try {
    results[name] = { ok: true, value: run() };
  } catch (error) {
    results[name] = { ok: false, error: error.name, message: error.message };
  }
};
const [dataDir, outside, program] = Deno.args;
attempt("env: a granted variable", () => Deno.env.get("GIT_URL"));
attempt("env: any other variable", () => Deno.env.get("PROBE_SECRET") ?? null);
attempt("env: the whole environment", () => Object.keys(Deno.env.toObject()).sort());
attempt("read: the environment through /proc", () =>
  Deno.readTextFileSync("/proc/self/environ").length);
attempt("read: the repository", () => Deno.readTextFileSync("deno.json").length);
attempt("write: inside DATA_DIR", () => Deno.writeTextFileSync(dataDir + "/probe", "x") ?? null);
attempt("write: outside DATA_DIR", () => Deno.writeTextFileSync(outside, "x") ?? null);
attempt("run: a subprocess", () => new Deno.Command(program, { args: ["--version"] }).outputSync().code);
attempt("sys: the host name", () => Deno.hostname());
attempt("sys: the network interfaces", () => Deno.networkInterfaces().length);
attempt("sys: the home folder", () => os.homedir());
console.log(JSON.stringify(results));
`;

/**
 * A folder this test process may write but the start command may not: the checkout itself
 * when it lies outside the allowed folders, else /var/tmp or the home folder (a CI checkout
 * may well sit under /tmp, which the start command may write).
 */
async function outsideWritable(): Promise<string> {
  const root = ROOT.pathname.replace(/\/+$/, "");
  const candidates = [root, "/var/tmp", Deno.env.get("HOME") ?? "/root"];
  for (const candidate of candidates) {
    const allowed = ALLOWED_WRITES.some((a) => candidate === a || candidate.startsWith(`${a}/`));
    if (allowed) continue;
    try {
      if ((await Deno.stat(candidate)).isDirectory) return candidate;
    } catch {
      // not there: try the next
    }
  }
  throw new Error("no folder outside the start command's writable folders to probe with");
}

Deno.test("what the start command withholds is refused: real attempts", async () => {
  const argv = (await readDockerfile()).cmd!;
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-probe-" });
  const outside = `${await outsideWritable()}/.gitfaas-permission-probe-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(`${dir}/probe.js`, PROBE);
    await Deno.mkdir(`${dir}/data`);
    const probe = new Started([
      ...argv.slice(0, -1),
      `${dir}/probe.js`,
      `${dir}/data`,
      outside,
      Deno.execPath(),
    ], {
      DENO_DIR: await denoDir(),
      HOME: dir,
      GIT_URL: "https://git.example.com/team/pipelines.git",
      PROBE_SECRET: "s3cr3t",
    });
    const results = JSON.parse(await probe.line('"env: a granted variable"'));
    assertEquals((await probe.stop(null)).code, 0, probe.output);
    const refused = (name: string, what: RegExp) => {
      assertEquals(results[name].ok, false, `${name}: ${JSON.stringify(results[name])}`);
      assertEquals(results[name].error, "NotCapable", name);
      assertMatch(results[name].message, what, name);
    };
    assertEquals(
      results["env: a granted variable"].value,
      "https://git.example.com/team/pipelines.git",
    );
    // --ignore-env: a variable outside --allow-env reads as unset, and is never listed.
    assertEquals(results["env: any other variable"].value, null);
    assertEquals(results["env: the whole environment"].value.includes("PROBE_SECRET"), false);
    refused("read: the environment through /proc", /read access to "\/proc\/self\/environ"/);
    assertEquals(results["read: the repository"].ok, true);
    assertEquals(results["write: inside DATA_DIR"].ok, true);
    refused("write: outside DATA_DIR", /write access to/);
    await Deno.stat(outside).then(
      () => assert(false, `${outside} was written`),
      (error) => assert(error instanceof Deno.errors.NotFound),
    );
    refused("run: a subprocess", /run access to/);
    // --allow-sys=hostname: a replica outside a pod is named after its host and pid.
    assertEquals(results["sys: the host name"].ok, true);
    refused("sys: the network interfaces", /sys access to "networkInterfaces"/);
    // --allow-sys=homedir: the login looks for ~/.kube/config even when HOME is unset.
    assertEquals(results["sys: the home folder"].ok, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside).catch(() => undefined);
  }
});

Deno.test("a DATA_DIR the command may not write stops the router at start with one line", async () => {
  const argv = (await readDockerfile()).cmd!;
  const outside = `${await outsideWritable()}/.gitfaas-data-probe-${crypto.randomUUID()}`;
  await withCluster(async (env) => {
    const router = new Started(argv, { ...env, DATA_DIR: outside });
    const status = await router.stop(null);
    assertEquals(status.code, 2, router.output);
    assertStringIncludes(
      router.output,
      `gitfaas: DATA_DIR must be a folder the process may write (--allow-write in the start command), got "${outside}"`,
    );
    await Deno.stat(outside).then(
      () => assert(false, `${outside} was created`),
      (error) => assert(error instanceof Deno.errors.NotFound),
    );
  });
});

Deno.test("a variable the router reads but may not read stops it at start with one line", async () => {
  const argv = (await readDockerfile()).cmd!.map((arg) =>
    arg.startsWith("--allow-env=") ? arg.replace(",PUBLISH_TOKEN,", ",") : arg
  );
  await withCluster(async (env) => {
    const router = new Started(argv, { ...env, PUBLISH_TOKEN: "a-token-it-must-not-miss" });
    const status = await router.stop(null);
    assertEquals(status.code, 2, router.output);
    assertStringIncludes(
      router.output,
      "gitfaas: PUBLISH_TOKEN may not be read: add it to --allow-env in the start command",
    );
  });
});
