/**
 * What a user sees when the router starts: development mode listens on the loopback interface
 * only (it has no auth), a missing folder stops it with one line and a non-zero exit, and a
 * failed first sync does not claim an index keeps serving. (A port in use: kube_login_e2e_test.)
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { RouterProcess } from "./support/router_process.ts";
import { jsonLogger } from "../src/log/logger.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import type { CommitFiles, RepoEntry, RevisionSource } from "../src/sync/source.ts";
import { Syncer } from "../src/sync/syncer.ts";

const ROOT = new URL("../", import.meta.url);

/** Runs a deno.json task's command (without `deno task`) to its end; `PORT` defaults to 0. */
async function runTask(
  task: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const [, ...taskArgs] = (config.tasks[task] as string).split(/\s+/);
  const output = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", PORT: "0", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Whether a TCP connection to `hostname:port` is accepted. */
async function accepts(hostname: string, port: number): Promise<boolean> {
  try {
    const connection = await Deno.connect({ hostname, port });
    connection.close();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) return false;
    throw error;
  }
}

Deno.test("deno task dev listens on 127.0.0.1 only unless LISTEN_ADDRESS says otherwise", async () => {
  // 127.0.0.2 is another loopback address: a server bound to every interface (0.0.0.0) answers
  // there, one bound to 127.0.0.1 does not. No traffic leaves the machine.
  const local = await RouterProcess.start({}, { task: "dev" });
  try {
    const port = Number(new URL(local.url).port);
    assertEquals(await accepts("127.0.0.1", port), true);
    assertEquals(await accepts("127.0.0.2", port), false, "reachable beyond 127.0.0.1");
    const listening = local.logs().find((l) => l.message === "gitfaas listening");
    assertEquals(listening?.address, "127.0.0.1");
  } finally {
    await local.stop();
  }

  const everywhere = await RouterProcess.start({ LISTEN_ADDRESS: "0.0.0.0" }, { task: "dev" });
  try {
    const port = Number(new URL(everywhere.url).port);
    assertEquals(await accepts("127.0.0.2", port), true);
  } finally {
    await everywhere.stop();
  }
});

Deno.test("a missing folder or a file stops deno task dev with one line, before it listens", async () => {
  const cases: [string, string][] = [
    ["no-such-folder", 'gitfaas: no folder "no-such-folder" to serve'],
    ["examples/config.json", 'gitfaas: "examples/config.json" is a file, not a folder'],
  ];
  for (const [folder, expected] of cases) {
    const { code, stdout, stderr } = await runTask("dev", [folder]);
    assertEquals(code, 2, stderr);
    assertEquals(stdout, "", "nothing is logged: it never listened");
    const lines = stderr.trim().split("\n");
    assertEquals(lines.length, 1, stderr);
    assertStringIncludes(lines[0], expected);
  }
});

/** A source whose `head()` fails while `down` is true; otherwise one good revision. */
class SwitchedSource implements RevisionSource {
  down = true;

  head(): Promise<string> {
    return this.down ? Promise.reject(new Error("Git server down (test)")) : Promise.resolve("r1");
  }

  load(revision: string): Promise<CommitFiles> {
    const files: Record<string, string> = {
      "config.json": JSON.stringify({ topics: [{ name: "t", configs: ["t.yaml"] }] }),
      "t.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: t\n",
    };
    return Promise.resolve({
      revision,
      entry: (path: string): Promise<RepoEntry> =>
        Promise.resolve(path in files ? { kind: "file", oid: path } : { kind: "missing" }),
      read: (oid: string) => Promise.resolve(new TextEncoder().encode(files[oid])),
    });
  }
}

Deno.test("a failed sync says the last good index keeps serving only when there is one", async () => {
  const lines: Record<string, unknown>[] = [];
  const source = new SwitchedSource();
  const syncer = new Syncer(source, {
    configPath: "config.json",
    maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
    maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
    policy: { deniedKinds: [], allowedClusterKinds: [], allowedNamespaces: "*" },
    logger: jsonLogger({ level: "warn", write: (line) => lines.push(JSON.parse(line)) }),
  });
  try {
    await syncer.sync().catch(() => undefined);
    assertEquals(syncer.index, null);
    const first = lines.at(-1)!;
    assertEquals(first.level, "warn");
    assert(!String(first.message).includes("keeps serving"), String(first.message));
    assertStringIncludes(String(first.message), "no index yet");

    source.down = false;
    await syncer.sync();
    source.down = true;
    await syncer.sync().catch(() => undefined);
    assertEquals(lines.at(-1)!.message, "sync failed; the last good index keeps serving");
    assertEquals(lines.at(-1)!.servingRevision, "r1");
  } finally {
    await syncer.stop();
  }
});
