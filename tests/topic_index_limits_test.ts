/**
 * A manifest file past the template limits makes its commit unusable, with a problem naming the
 * file, at the router's index build and in `validate` alike; so does a topic whose files
 * together render more than one publish may.
 */

import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { configJson, ECHO_JOB } from "./support/fixtures.ts";
import { parseKindList } from "../src/policy/policy.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { TEMPLATE_LIMITS } from "../src/render/template.ts";
import { buildTopicIndex, IndexBuildError } from "../src/topics/topic_index.ts";
import { validateRepository } from "../src/validate/validate.ts";
import { DirectorySource } from "../src/dev/directory_source.ts";

const options = {
  configPath: "config.json",
  policy: {
    deniedKinds: parseKindList("none"),
    allowedNamespaces: "*" as const,
    allowedClusterKinds: parseKindList("none"),
  },
  maxManifestsPerTopic: DEFAULTS.maxManifestsPerTopic,
  maxObjectsPerPublish: DEFAULTS.maxObjectsPerPublish,
};

/** 999 aliases of a 20,000-item list: 172 KB that renders to 20 million items. */
function aliasBomb(): string {
  const list = Array.from({ length: 20_000 }, (_, i) => `  - ${i}\n`).join("");
  const aliases = Array.from({ length: 999 }, (_, i) => `  k${i}: *a\n`).join("");
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nx: &a\n${list}data:\n${aliases}`;
}

async function withRepo(files: Record<string, string>, run: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-limits-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${path}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${path}`, text);
    }
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BOMB_REPO = {
  "config.json": configJson({ echo: ["echo.yaml"], bomb: ["bomb.yaml"] }),
  "echo.yaml": ECHO_JOB,
  "bomb.yaml": aliasBomb(),
};
const BOMB_PROBLEM = /^bomb\.yaml: line \d+: the template renders to more than 50,000 keys/;

Deno.test("an alias bomb makes the commit unusable, naming the file, at build", async () => {
  await withRepo(BOMB_REPO, async (dir) => {
    const source = new DirectorySource(dir);
    const files = await source.load(await source.head());
    const error = await assertRejects(
      () => buildTopicIndex(files, options),
      IndexBuildError,
    );
    assertEquals(error.problems.length, 1, error.problems.join("\n"));
    assert(BOMB_PROBLEM.test(error.problems[0]), error.problems[0]);
  });
});

Deno.test("validate says the same as the index build, and fails", async () => {
  await withRepo(BOMB_REPO, async (dir) => {
    const result = await validateRepository(dir, options);
    assertEquals(result.ok, false);
    assertEquals(result.problems.length, 1);
    assert(BOMB_PROBLEM.test(result.problems[0]), result.problems[0]);

    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "validate", dir],
      cwd: new URL("../", import.meta.url),
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(cli.stderr);
    assertEquals(cli.code, 1, stderr);
    assert(stderr.includes(`${dir}/bomb.yaml: line `), stderr);
    assert(stderr.includes("renders to more than 50,000 keys, items and values"), stderr);
  });
});

Deno.test("a file over the size limit is refused before it is read as text", async () => {
  await withRepo({
    "config.json": configJson({ big: ["big.yaml"] }),
    "big.yaml": `${ECHO_JOB}# ${"x".repeat(TEMPLATE_LIMITS.maxBytes)}\n`,
  }, async (dir) => {
    const result = await validateRepository(dir, options);
    assertEquals(result.problems, [
      "big.yaml: the file is 1 MiB, more than the 1 MiB a manifest template may be",
    ]);
  });
});

Deno.test("a topic whose files together render past the limits is unusable", async () => {
  // Four Jobs of 57 nodes each: fine alone, over a limit of 100 together.
  const limits = { ...TEMPLATE_LIMITS, maxNodes: 100 };
  await withRepo({
    "config.json": configJson({ one: ["a.yaml"], all: ["a.yaml", "b.yaml", "c.yaml", "d.yaml"] }),
    ...Object.fromEntries(["a", "b", "c", "d"].map((n) => [`${n}.yaml`, ECHO_JOB])),
  }, async (dir) => {
    const result = await validateRepository(dir, { ...options, limits });
    assertEquals(result.problems.length, 1, result.problems.join("\n"));
    assert(
      /^config\.json: topics\[1\]: a publish would render 228 keys, items and values, more than the limit of 100 for all of a topic's files together$/
        .test(result.problems[0]),
      result.problems[0],
    );
  });
});
