/**
 * `validate` as a pipeline repository's CI runs it, always as a separate process: by URL with
 * `deno run` (this repository served the way a raw-file host serves it), as `gitfaas validate`
 * installed with `deno install`, and as `deno task validate`. Paths are relative to where it
 * runs, every problem is listed in one pass, and the default namespace is the one deploy/
 * installs the router with.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";

const ROOT = new URL("../", import.meta.url);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno <args>` in `cwd` with a clean environment plus `env`. */
async function deno(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    clearEnv: true,
    env: {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      HOME: Deno.env.get("HOME") ?? "/root",
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

/** Runs this repository's validate entry in `cwd`, with the repository's own config. */
function validate(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return deno(
    [
      "run",
      `--config=${new URL("deno.json", ROOT).pathname}`,
      "--allow-read",
      "--allow-env",
      new URL("src/validate/cli.ts", ROOT).pathname,
      ...args,
    ],
    cwd,
    env,
  );
}

/** A folder holding `files` (paths may have folders), removed after `run`. */
async function withFiles<T>(
  files: Record<string, string>,
  run: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-validate-" });
  try {
    for (const [path, text] of Object.entries(files)) {
      const full = `${dir}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, text);
    }
    return await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: run-{{RANDOM}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          args: ["{{MESSAGE}}"]
`;

const GOOD_REPO = {
  "pipelines/config.json": JSON.stringify({ topics: [{ name: "run", configs: ["run.yaml"] }] }),
  "pipelines/run.yaml": JOB,
};

/** Serves the repository's files as a raw-file host does: text/plain, GET only. */
function serveRepository(): { url: string; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname).replace(/^\/+/, "");
    if (request.method !== "GET" || path.split("/").includes("..")) {
      return new Response("no", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(path, ROOT));
      return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/**
 * A Deno cache of its own (so the remote modules fetched here do not stay in the user's),
 * sharing the npm packages the test run already has.
 */
async function withDenoDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const info = await deno(["info", "--json"], ROOT.pathname);
  const npmCache: string = JSON.parse(info.stdout).npmCache;
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-deno-dir-" });
  try {
    await Deno.symlink(npmCache, `${dir}/npm`);
    return await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the README's deno run by URL validates the folder it runs in", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const documented = readme.match(/^deno run (.*) (\S+\/src\/validate\/cli\.ts) (\S+)$/m);
  assert(documented, "the README shows the deno run command");
  const [, flags, entry] = documented;
  const base = entry.slice(0, -"/src/validate/cli.ts".length);
  const host = serveRepository();
  try {
    await withDenoDir((denoDir) =>
      withFiles(GOOD_REPO, async (dir) => {
        const args = [
          "run",
          ...flags.split(/\s+/).map((flag) => flag.replace(base, host.url)),
          `${host.url}/src/validate/cli.ts`,
        ];
        const ok = await deno([...args, "."], `${dir}/pipelines`, { DENO_DIR: denoDir });
        assertEquals(ok.code, 0, ok.stderr);
        assertStringIncludes(ok.stdout, "ok: .: 1 topic, 1 manifest file");

        await Deno.writeTextFile(`${dir}/pipelines/run.yaml`, JOB.replace("run-", "Run_"));
        const bad = await deno([...args, "pipelines"], dir, { DENO_DIR: denoDir });
        assertEquals(bad.code, 1, bad.stderr);
        assertStringIncludes(
          bad.stderr,
          `pipelines/run.yaml: line 1: document 1: metadata.name "Run_sample0000"`,
        );
      })
    );
  } finally {
    await host.close();
  }
});

Deno.test("gitfaas validate installed with deno install", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const documented = readme.match(/^deno install (.*) (\S+\/cli\.ts)$/m);
  assert(documented, "the README shows the deno install command");
  const [, flags, entry] = documented;
  const base = entry.slice(0, -"/cli.ts".length);
  const host = serveRepository();
  try {
    await withDenoDir((denoDir) =>
      withFiles(GOOD_REPO, async (dir) => {
        const env = { DENO_DIR: denoDir };
        const install = await deno(
          [
            "install",
            `--root=${dir}/tools`,
            ...flags.split(/\s+/).map((flag) => flag.replace(base, host.url)),
            `${host.url}/cli.ts`,
          ],
          dir,
          env,
        );
        assertEquals(install.code, 0, install.stderr);
        const gitfaas = async (...args: string[]) => {
          const output = await new Deno.Command(`${dir}/tools/bin/gitfaas`, {
            args,
            cwd: `${dir}/pipelines`,
            clearEnv: true,
            env: {
              ...env,
              NO_COLOR: "1",
              HOME: Deno.env.get("HOME") ?? "/root",
              // The installed script runs `deno` from PATH.
              PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:/usr/bin:/bin`,
            },
            stdout: "piped",
            stderr: "piped",
          }).output();
          return { code: output.code, out: decode(output.stdout) + decode(output.stderr) };
        };
        const ok = await gitfaas("validate", "run.yaml", ".");
        assertEquals(ok.code, 0, ok.out);
        assertStringIncludes(ok.out, "ok: run.yaml: 1 manifest file (namespace gitfaas-jobs)");
        assertStringIncludes(ok.out, "ok: .: 1 topic, 1 manifest file (namespace gitfaas-jobs)");
        const help = await gitfaas("validate", "--help");
        assertEquals(help.code, 0, help.out);
        assertStringIncludes(help.out, "Usage: gitfaas validate [options] [path...]");
        assertEquals((await gitfaas("frobnicate")).code, 2);
      })
    );
  } finally {
    await host.close();
  }
});

Deno.test("deno task validate takes paths relative to where it was started", async () => {
  await withFiles(GOOD_REPO, async (dir) => {
    const config = new URL("deno.json", ROOT).pathname;
    const run = await deno(["task", "-q", `--config=${config}`, "validate", "pipelines"], dir);
    assertEquals(run.code, 0, run.stderr);
    assertStringIncludes(run.stdout, "ok: pipelines: 1 topic, 1 manifest file");
  });
});

Deno.test("every problem of a repository is listed in one pass, each with its file", async () => {
  const files = {
    "config.json": JSON.stringify({
      topics: [
        { name: "a", configs: ["a.yaml"] },
        { name: "a", configs: ["b.yaml"] },
        { name: "bad name", configs: ["c.yaml", "../outside.yaml"] },
        { name: "d", configs: ["gone.yaml"] },
      ],
      extra: true,
    }),
    "a.yaml": JOB.replace("name: run-", "name: Bad_"),
    "b.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    "c.yaml": JOB.replace(
      "      restartPolicy",
      "      serviceAccountName: gitfaas\n      restartPolicy",
    ),
  };
  await withFiles(files, async (dir) => {
    const { code, stdout, stderr } = await validate(["."], dir);
    assertEquals(code, 1, stderr);
    assertEquals(stdout, "");
    const expected = [
      `config.json: unknown key "extra"`,
      `config.json: topics[1].name: duplicate topic name "a" (also at topics[0])`,
      `config.json: topics[2].name: must be 1 to 63 letters`,
      `config.json: topics[2].configs[1]: "../outside.yaml" escapes the repository with '..'`,
      `config.json: topics[3].configs[0]: gone.yaml does not exist`,
      `a.yaml: line 1: document 1: metadata.name "Bad_sample0000"`,
      `b.yaml: line 1: document 1: Secret is a denied kind (DENIED_KINDS)`,
      `c.yaml: line 1: document 1: serviceAccountName "gitfaas" is the router's own ServiceAccount`,
    ];
    const lines = stderr.trim().split("\n");
    for (const part of expected) {
      assert(lines.some((line) => line.startsWith(part)), `"${part}" in:\n${stderr}`);
    }
    assertEquals(lines.length, expected.length + 1, stderr);
    assertEquals(lines.at(-1), ".: 8 problems");
  });
});

Deno.test("validate checks with the installed router's default namespace", async () => {
  const files = {
    "config.json": JSON.stringify({
      topics: [{ name: "jobs", configs: ["jobs.yaml"] }, { name: "def", configs: ["def.yaml"] }],
    }),
    "jobs.yaml": JOB.replace(
      "  name: run-{{RANDOM}}",
      "  name: run-{{RANDOM}}\n  namespace: gitfaas-jobs",
    ),
    "def.yaml": JOB.replace(
      "  name: run-{{RANDOM}}",
      "  name: run-{{RANDOM}}\n  namespace: default",
    ),
  };
  await withFiles(files, async (dir) => {
    const byDefault = await validate([], dir);
    assertEquals(byDefault.code, 1, byDefault.stderr);
    assertStringIncludes(
      byDefault.stderr,
      `def.yaml: line 1: document 1: namespace "default" is not allowed (ALLOWED_NAMESPACES: gitfaas-jobs)`,
    );
    assertEquals(byDefault.stderr.includes("jobs.yaml"), false, byDefault.stderr);

    const other = await validate(["--namespace", "default", "def.yaml"], dir);
    assertEquals(other.code, 0, other.stderr);
    assertStringIncludes(other.stdout, "ok: def.yaml: 1 manifest file (namespace default)");
    const fromEnv = await validate(["def.yaml"], dir, { ALLOWED_NAMESPACES: "default" });
    assertEquals(fromEnv.code, 0, fromEnv.stderr);
  });
});

Deno.test("a file path checks that file: a config file, or one manifest on its own", async () => {
  const files = {
    "ci/config.json": JSON.stringify({ topics: [{ name: "x", configs: ["x.yaml"] }] }),
    "ci/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\napiVersion: v1\n",
  };
  await withFiles(files, async (dir) => {
    const config = await validate(["ci/config.json"], dir);
    assertEquals(config.code, 1, config.stderr);
    assertStringIncludes(config.stderr, "ci/x.yaml: line 6: document 2 has no kind");
    const manifest = await validate(["ci/x.yaml"], dir);
    assertEquals(manifest.code, 1, manifest.stderr);
    assertEquals(manifest.stderr.trim().split("\n"), [
      "ci/x.yaml: line 6: document 2 has no kind",
      "ci/x.yaml: 1 problem",
    ]);
  });
});

Deno.test("--help, unknown options and missing paths", async () => {
  await withFiles(GOOD_REPO, async (dir) => {
    const help = await validate(["--help"], dir);
    assertEquals(help.code, 0);
    assertStringIncludes(help.stdout, "Usage: validate [options] [path...]");
    assertStringIncludes(help.stdout, "--namespace <name>");

    const unknown = await validate(["--frobnicate"], dir);
    assertEquals(unknown.code, 2);
    assertStringIncludes(unknown.stderr, "--frobnicate");
    assertStringIncludes(unknown.stderr, "validate --help lists the options");

    const badNamespace = await validate(["--namespace", "Not_A_Name"], dir);
    assertEquals(badNamespace.code, 2);
    assertStringIncludes(
      badNamespace.stderr,
      "validate: --namespace must be a Kubernetes namespace name",
    );

    // A missing path is reported, and the paths after it are still checked.
    const missing = await validate(["nowhere", "pipelines"], dir);
    assertEquals(missing.code, 2, missing.stderr);
    assertStringIncludes(missing.stderr, "validate: no such file or folder: nowhere");
    assertStringIncludes(missing.stdout, "ok: pipelines: 1 topic, 1 manifest file");
  });
});
