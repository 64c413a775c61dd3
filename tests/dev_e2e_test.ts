/**
 * A newcomer's first minute: `deno task dev` with no configuration serves the bundled example
 * pipeline render-only (no cluster), picks up edits without a restart, and `deno task validate` checks a
 * pipeline repository offline.
 */

import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { RouterProcess } from "./support/router_process.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("deno task dev serves the examples render-only with no configuration", async () => {
  const router = await RouterProcess.start({}, { task: "dev" });
  try {
    await router.waitFor(async () => (await router.call("/readyz")).status === 200);
    const { status, body } = await router.call("/publish/timeToCollect", {
      method: "POST",
      body: JSON.stringify({ source: "greenhouse" }),
      headers: { "content-type": "application/json" },
    });
    assertEquals(status, 202, JSON.stringify(body));
    assertEquals(body.dryRun, true);
    const [job] = body.objects;
    assertEquals(job.outcome, "dry-run");
    assertEquals(job.kind, "Job");
    assertMatch(job.name, /^collect-[a-z0-9]{5}$/);
    assertEquals(job.object.metadata.name, job.name);
    assertEquals(job.object.spec.ttlSecondsAfterFinished, 600);
    const env = job.object.spec.template.spec.containers[0].env;
    assertEquals(
      atob(env.find((e: { name: string }) => e.name === "MESSAGE").value),
      '{"source":"greenhouse"}',
    );
    assertStringIncludes(router.output, '"mode":"render-only"');
    assertStringIncludes(router.output, "render-only: would apply");
  } finally {
    await router.stop();
  }
});

Deno.test("an edit on disk is served without a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-dev-" });
  for (const entry of Deno.readDirSync(`${ROOT}examples`)) {
    await Deno.copyFile(`${ROOT}examples/${entry.name}`, `${dir}/${entry.name}`);
  }
  const router = await RouterProcess.start({}, { task: "dev", args: [dir] });
  try {
    await router.waitFor(async () => (await router.call("/readyz")).status === 200);
    const before = await router.call("/publish/timeToConvert", { method: "POST", body: "a,b" });
    assertEquals(before.body.objects[0].object.spec.backoffLimit, 2);
    const text = await Deno.readTextFile(`${dir}/convert.yaml`);
    await Deno.writeTextFile(
      `${dir}/convert.yaml`,
      text.replace("backoffLimit: 2", "backoffLimit: 5"),
    );
    await router.waitFor(async () => {
      const after = await router.call("/publish/timeToConvert", { method: "POST", body: "a,b" });
      return after.body.objects?.[0]?.object.spec.backoffLimit === 5;
    });
    // A broken edit is reported and the last good version keeps serving.
    await Deno.writeTextFile(`${dir}/convert.yaml`, "apiVersion: batch/v1\nkind: [\n");
    await router.waitFor(async () =>
      (await router.call("/status")).body.lastSync?.outcome === "failed"
    );
    const still = await router.call("/publish/timeToConvert", { method: "POST", body: "a,b" });
    assertEquals(still.body.objects[0].object.spec.backoffLimit, 5);
  } finally {
    await router.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

async function validate(dir: string): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "validate", dir],
    cwd: ROOT,
    env: { NO_COLOR: "1", LOG_FLUSH_INTERVAL: "0" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: result.code, output: decode(result.stdout) + decode(result.stderr) };
}

Deno.test("validate passes on the examples", async () => {
  const { code, output } = await validate("examples");
  assertEquals(code, 0, output);
  assertStringIncludes(output, "ok: examples: 3 topics, 3 manifest files");
});

Deno.test("validate names the file and line of each problem and exits 1", async () => {
  const cases: [string, Record<string, string>, string][] = [
    ["bad JSON", { "config.json": '{"topics": [}' }, "config.json: not valid JSON"],
    [
      "missing file",
      { "config.json": '{"topics":[{"name":"a","configs":["gone.yaml"]}]}' },
      "config.json: topics[0].configs[0]: gone.yaml does not exist",
    ],
    [
      "bad YAML",
      { "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [\n" },
      "a.yaml: line",
    ],
    [
      "invalid name",
      { "a.yaml": "# a comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n" },
      'a.yaml: line 2: document 1: metadata.name "Bad_Name"',
    ],
    [
      "denied kind",
      {
        "a.yaml":
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
      },
      "a.yaml: line 5: document 2: Secret is a denied kind (DENIED_KINDS)",
    ],
  ];
  for (const [name, files, expected] of cases) {
    const dir = await Deno.makeTempDir({ prefix: "gitfaas-validate-" });
    try {
      const all: Record<string, string> = {
        "config.json": '{"topics":[{"name":"a","configs":["a.yaml"]}]}',
        "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n",
        ...files,
      };
      for (const [path, text] of Object.entries(all)) {
        await Deno.writeTextFile(`${dir}/${path}`, text);
      }
      const { code, output } = await validate(dir);
      assertEquals(code, 1, `${name}: ${output}`);
      assert(output.includes(expected), `${name}: expected "${expected}" in:\n${output}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});
