import { PackCache } from "../src/git/pack_cache.ts";
import { objectId } from "../src/git/pack_index.ts";
import { PackReader } from "../src/git/pack_reader.ts";
import { DEFAULTS } from "../src/settings/settings.ts";
import { GitCli } from "./support/git_cli.ts";
import { assert, assertEquals } from "./support/assert.ts";

/**
 * A bare repository whose one file was edited many times, packed by `git` with long delta
 * chains, against offsets (`ofs-delta`) or object ids (`ref-delta`).
 */
async function deltaRepo(deltaBaseOffset: boolean) {
  const root = await Deno.makeTempDir({ prefix: "gitfaas-pack-reader-" });
  await Deno.mkdir(`${root}/home`);
  const git = new GitCli(`${root}/home`);
  const bare = `${root}/cache.git`;
  const work = `${root}/work`;
  await Deno.mkdir(work);
  await git.run(["init", "--bare", "--initial-branch=main", bare]);
  const at = ["--git-dir", bare, "--work-tree", work];
  const lines = Array.from({ length: 200 }, (_, i) => `  key${i}: value ${i}`);
  for (let version = 0; version < 30; version++) {
    lines[version * 5] = `  key${version * 5}: changed in version ${version}`;
    await Deno.writeTextFile(`${work}/manifest.yaml`, `data:\n${lines.join("\n")}\n`);
    await git.run([...at, "add", "-A"]);
    await git.run([...at, "commit", "-qm", `version ${version}`]);
  }
  await git.run([
    "--git-dir",
    bare,
    "-c",
    `repack.useDeltaBaseOffset=${deltaBaseOffset}`,
    "repack",
    "-a",
    "-d",
    "-q",
    "-f",
    "--depth=50",
    "--window=50",
  ]);
  await git.run(["--git-dir", bare, "prune-packed"]);
  const objects = (await git.run(["--git-dir", bare, "rev-list", "--objects", "--all"]))
    .split("\n").map((line) => line.split(" ")[0]);
  const [idx] = [...Deno.readDirSync(`${bare}/objects/pack`)].filter((e) =>
    e.name.endsWith(".idx")
  );
  const verify = await git.run(["verify-pack", "-v", `${bare}/objects/pack/${idx.name}`]);
  const longestChain = Math.max(
    0,
    ...[...verify.matchAll(/^chain length = (\d+)/gm)].map((m) => Number(m[1])),
  );
  return { root, bare, objects, longestChain };
}

for (const deltaBaseOffset of [true, false]) {
  const kind = deltaBaseOffset ? "offsets" : "object ids";
  Deno.test(`every object of a pack whose deltas name their bases by ${kind} reads whole`, async () => {
    const repo = await deltaRepo(deltaBaseOffset);
    try {
      assert(repo.longestChain >= 5, `git made delta chains (longest ${repo.longestChain})`);
      const cache = new PackCache(repo.bare, {
        branch: "main",
        maxObjectBytes: DEFAULTS.gitMaxBlobBytes,
        maxTotalBytes: DEFAULTS.gitMaxFetchBytes,
      });
      // The pack is taken as it is (the bitmap index next to it goes: the cache makes none).
      const repairs = await cache.open();
      assert(repairs.every((r) => r.includes(".bitmap")), repairs.join("; "));
      assertEquals(cache.objectCount, repo.objects.length);
      const reader = new PackReader(cache);
      for (const oid of repo.objects) {
        const object = await reader.read(oid);
        assert(object, `${oid} is read`);
        assertEquals(objectId(object.type, object.content), oid, `${oid} reads as itself`);
      }
      assertEquals(await reader.read("0".repeat(40)), undefined, "an object not held");
    } finally {
      await Deno.remove(repo.root, { recursive: true });
    }
  });
}
