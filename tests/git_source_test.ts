import { GitSource } from "../src/git/git_source.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { GitCli } from "./support/git_cli.ts";
import { assertEquals } from "./support/assert.ts";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** A bare repository made by `git` itself, whose objects are loose until it is repacked. */
async function bareRepo(files: Record<string, string>) {
  const root = await Deno.makeTempDir({ prefix: "gitfaas-git-source-" });
  await Deno.mkdir(`${root}/home`);
  const git = new GitCli(`${root}/home`);
  const bare = `${root}/cache.git`;
  const work = `${root}/work`;
  await git.run(["init", "--bare", "--initial-branch=main", bare]);
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${work}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${work}/${path}`, text);
  }
  const at = ["--git-dir", bare, "--work-tree", work];
  await git.run([...at, "add", "-A"]);
  await git.run([...at, "commit", "-qm", "files"]);
  const commit = (await git.run([...at, "rev-parse", "HEAD"])).trim();
  return { root, bare, commit, git };
}

Deno.test("a commit's files read the same whether its objects are loose, packed or both", async () => {
  const files = {
    "config.json": "{}\n",
    "jobs/a.yaml": "kind: Job\n",
    "jobs/b.yaml": "kind: Pod\n",
  };
  const repo = await bareRepo(files);
  try {
    const source = new GitSource({
      url: "http://127.0.0.1:1/unused.git",
      branch: "main",
      dir: repo.bare,
      maxFetchBytes: DEFAULTS.gitMaxFetchBytes,
      maxBlobBytes: DEFAULTS.gitMaxBlobBytes,
    });
    const readAll = async () => {
      const commitFiles = source.files(repo.commit);
      const out: Record<string, string> = {};
      for (const path of Object.keys(files)) {
        const entry = await commitFiles.entry(path);
        if (entry.kind !== "file") throw new Error(`${path}: ${entry.kind}`);
        out[path] = decode(await commitFiles.read(entry.oid));
      }
      return out;
    };
    assertEquals(await readAll(), files, "loose objects");

    await repo.git.run(["--git-dir", repo.bare, "repack", "-a", "-d", "-q"]);
    await repo.git.run(["--git-dir", repo.bare, "prune-packed"]);
    assertEquals(await readAll(), files, "packed objects");

    // A later commit adds loose objects next to the pack.
    const work = `${repo.root}/work`;
    await Deno.writeTextFile(`${work}/jobs/c.yaml`, "kind: Secret\n");
    const at = ["--git-dir", repo.bare, "--work-tree", work];
    await repo.git.run([...at, "add", "-A"]);
    await repo.git.run([...at, "commit", "-qm", "more"]);
    const next = (await repo.git.run([...at, "rev-parse", "HEAD"])).trim();
    const nextFiles = source.files(next);
    for (const [path, text] of Object.entries({ ...files, "jobs/c.yaml": "kind: Secret\n" })) {
      const entry = await nextFiles.entry(path);
      if (entry.kind !== "file") throw new Error(`${path}: ${entry.kind}`);
      assertEquals(decode(await nextFiles.read(entry.oid)), text, `${path} of the mixed commit`);
    }
  } finally {
    await Deno.remove(repo.root, { recursive: true });
  }
});
