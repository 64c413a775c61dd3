/**
 * The release pipeline: on a version tag, GitHub Actions builds the image for amd64 and arm64,
 * pushes it to ghcr.io, signs it keyless and pins deploy/ to its digest. What can be checked
 * here is checked for real: the workflows pass actionlint (where it is installed), every action
 * is pinned by commit, and `pin-image` rewrites deploy/ so that `kubectl kustomize` renders the
 * pinned image.
 */

import { parse as parseYaml } from "yaml";
import { assert, assertEquals, assertMatch, assertThrows } from "./support/assert.ts";
import { kustomization, readDockerfile, ROOT } from "./support/deploy_files.ts";
import { onPath } from "./support/on_path.ts";
import { parseImageReference, pinImage } from "../tools/pin_image.ts";

// deno-lint-ignore no-explicit-any
type Workflow = Record<string, any>;

const WORKFLOWS = new URL(".github/workflows/", ROOT);
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

async function workflow(name: string): Promise<{ text: string; parsed: Workflow }> {
  const text = await Deno.readTextFile(new URL(name, WORKFLOWS));
  return { text, parsed: parseYaml(text) };
}

/** Every step of every job. */
function steps(parsed: Workflow): Workflow[] {
  return Object.values(parsed.jobs as Record<string, Workflow>).flatMap((job) => job.steps);
}

/** The step for which `test` holds; `what` names it in the failure. */
function stepWhere(parsed: Workflow, what: string, test: (step: Workflow) => boolean): Workflow {
  const step = steps(parsed).find(test);
  assert(step, `a step ${what}`);
  return step;
}

/** The step that uses `action` (owner/name). */
function uses(parsed: Workflow, action: string): Workflow {
  const step = steps(parsed).find((s) => String(s.uses).startsWith(`${action}@`));
  assert(step, `a step uses ${action}`);
  return step;
}

Deno.test("every action in every workflow is pinned by a full commit SHA, its version noted", async () => {
  const names = [...Deno.readDirSync(WORKFLOWS)].map((e) => e.name).sort();
  assertEquals(names, ["ci.yml", "release.yml"]);
  for (const name of names) {
    const { text, parsed } = await workflow(name);
    for (const step of steps(parsed).filter((s) => s.uses)) {
      assertMatch(step.uses, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${name}: ${step.uses}`);
      const line = text.split("\n").find((l) => l.includes(`uses: ${step.uses}`));
      assertMatch(String(line), / # v\d+\.\d+\.\d+$/, `${name}: the version beside ${step.uses}`);
    }
  }
});

Deno.test("a version tag builds amd64 and arm64, pushes to ghcr.io, signs and pins by digest", async () => {
  const { parsed } = await workflow("release.yml");
  assertEquals(parsed.on, { push: { tags: ["v*.*.*"] } });
  assertEquals(parsed.permissions, {}, "nothing granted beyond the job that needs it");
  const job = parsed.jobs.image;
  assertEquals(job.permissions, { contents: "write", packages: "write", "id-token": "write" });

  uses(parsed, "docker/setup-qemu-action");
  uses(parsed, "docker/setup-buildx-action");
  assertEquals(uses(parsed, "docker/login-action").with.registry, "ghcr.io");
  const build = uses(parsed, "docker/build-push-action").with;
  assertEquals(build.platforms.split(","), ["linux/amd64", "linux/arm64"]);
  assertEquals(build.push, true);
  assertMatch(build.tags, /^\$\{\{ steps\.version\.outputs\.image \}\}:/);
  const version = stepWhere(parsed, "with id version", (s) => s.id === "version");
  assertMatch(version.run, /image="ghcr\.io\/\$\{GITHUB_REPOSITORY_OWNER,,\}\/gitfaas"/);
  assertMatch(version.run, /jq -r \.version deno\.json/, "the tag must be deno.json's version");

  uses(parsed, "sigstore/cosign-installer");
  const runs = steps(parsed).map((s) => String(s.run ?? "")).join("\n");
  assertMatch(runs, /cosign sign --yes "\$\{IMAGE\}"/);
  const sign = stepWhere(parsed, "signs", (s) => String(s.run).includes("cosign sign"));
  assertEquals(
    sign.env.IMAGE,
    "${{ steps.version.outputs.image }}@${{ steps.build.outputs.digest }}",
  );
  assert(!("COSIGN_PRIVATE_KEY" in (sign.env ?? {})), "keyless: no key");
  const pin = stepWhere(parsed, "pins", (s) => String(s.run).includes("deno task pin-image"));
  assertEquals(pin.env.IMAGE, sign.env.IMAGE, "deploy/ is pinned to the image that was signed");
  assertMatch(runs, /gh release create "\$\{GITHUB_REF_NAME\}" --verify-tag/);

  // The Deno that pins deploy/ is the one the image is built on.
  const dockerfile = await readDockerfile();
  const deno = uses(parsed, "denoland/setup-deno").with["deno-version"];
  assertEquals(dockerfile.from, `denoland/deno:debian-${deno.replace(/^v/, "")}`);
});

Deno.test("CI lints the workflows with the actionlint .ci/run builds, and runs .ci/run", async () => {
  const { parsed } = await workflow("ci.yml");
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const pinned = ci.match(/^ACTIONLINT_VERSION=(v\d+\.\d+\.\d+)$/m)?.[1];
  assert(pinned, ".ci/run pins actionlint");
  const lint = stepWhere(parsed, "runs actionlint", (s) => String(s.run).includes("actionlint"));
  assert(
    String(lint.run).includes(`go install github.com/rhysd/actionlint/cmd/actionlint@${pinned}`),
    lint.run,
  );
  assert(steps(parsed).some((s) => s.run === "bash .ci/run"));
});

/** actionlint on PATH or where `go install` puts it; undefined when not built here. */
function actionlintPath(): string | undefined {
  const found = onPath("actionlint");
  if (found) return found;
  const home = Deno.env.get("HOME");
  const candidates = [Deno.env.get("GOBIN"), Deno.env.get("GOPATH"), home && `${home}/go`]
    .filter((d): d is string => !!d).map((d) => d.endsWith("/bin") ? d : `${d}/bin`);
  for (const dir of candidates) {
    try {
      if (Deno.statSync(`${dir}/actionlint`).isFile) return `${dir}/actionlint`;
    } catch {
      // not there
    }
  }
  return undefined;
}

const actionlint = actionlintPath();
if (!actionlint) {
  console.warn("actionlint is not installed: skipping the workflow lint (.ci/run builds it)");
}

Deno.test({
  name: "the workflows pass actionlint",
  ignore: !actionlint,
  fn: async () => {
    const output = await new Deno.Command(actionlint!, {
      args: ["-no-color"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 0, text);
  },
});

Deno.test("pin-image points deploy/ at an image by digest or by tag, and nothing else changes", async () => {
  const base = await Deno.readTextFile(new URL("deploy/kustomization.yaml", ROOT));
  const { version } = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assertEquals((await kustomization()).images, [
    { name: "ghcr.io/gitfaas/gitfaas", newTag: version },
  ]);

  const pinned = pinImage(base, parseImageReference(`ghcr.io/someone/gitfaas@${DIGEST}`));
  assertEquals(parseYaml(pinned).images, [
    { name: "ghcr.io/gitfaas/gitfaas", newName: "ghcr.io/someone/gitfaas", digest: DIGEST },
  ]);
  const rest = (text: string) => ({ ...parseYaml(text), images: undefined });
  assertEquals(rest(pinned), rest(base));
  assert(pinned.includes("# The settings, from config.env."), "comments are kept");

  const tagged = pinImage(base, parseImageReference("registry.local:5000/gitfaas:dev"));
  assertEquals(parseYaml(tagged).images, [
    { name: "ghcr.io/gitfaas/gitfaas", newName: "registry.local:5000/gitfaas", newTag: "dev" },
  ]);
  for (const bad of ["gitfaas", "ghcr.io/x/gitfaas@sha256:abc", "Ghcr.io/X:1", "a b:1"]) {
    assertThrows(() => parseImageReference(bad), Error, "is not an image reference");
  }
});

Deno.test({
  name: "deno task pin-image rewrites deploy/ so that kubectl kustomize renders the digest",
  ignore: onPath("kubectl") === undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "gitfaas-pin-" });
    try {
      await Deno.mkdir(`${dir}/deploy`);
      for await (const entry of Deno.readDir(new URL("deploy/", ROOT))) {
        await Deno.copyFile(new URL(`deploy/${entry.name}`, ROOT), `${dir}/deploy/${entry.name}`);
      }
      await Deno.copyFile(new URL("deno.json", ROOT), `${dir}/deno.json`);
      await Deno.copyFile(new URL("deno.lock", ROOT), `${dir}/deno.lock`);
      await Deno.mkdir(`${dir}/tools`);
      await Deno.copyFile(new URL("tools/pin_image.ts", ROOT), `${dir}/tools/pin_image.ts`);
      const run = (program: string, args: string[]) =>
        new Deno.Command(program, { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
      const image = `ghcr.io/someone/gitfaas@${DIGEST}`;
      const pin = await run(Deno.execPath(), ["task", "-q", "pin-image", image]);
      assertEquals(pin.code, 0, new TextDecoder().decode(pin.stderr));
      const rendered = await run(onPath("kubectl")!, ["kustomize", "deploy/"]);
      const text = new TextDecoder().decode(rendered.stdout);
      assertEquals(rendered.code, 0, new TextDecoder().decode(rendered.stderr));
      assertEquals([...text.matchAll(/image: (\S+)/g)].map((m) => m[1]), [image]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
