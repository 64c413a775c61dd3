/**
 * Indexing packs (src/git/pack_index.ts) against Git itself: the index of a pack Git made is
 * byte for byte the one `git index-pack` writes; a thin pack is completed from the cache into
 * a pack Git accepts alone; sizes are refused from headers, before inflating; damaged packs are
 * refused.
 */

import nodeFs from "node:fs";
import zlib from "node:zlib";
import git from "isomorphic-git";
import { decodeHex } from "../src/lib/bytes.ts";
import { indexPack } from "../src/git/index_pack.ts";
import {
  encodeEntryHeader,
  type GitObject,
  ObjectTooLargeError,
  type ObjectType,
  PackError,
  parsePackIndex,
  sha1Hex,
} from "../src/git/pack_index.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { GitCli } from "./support/git_cli.ts";

/** Runs git with `stdin`, returning its raw standard output. */
async function gitBytes(cli: GitCli, args: string[], stdin = ""): Promise<Uint8Array> {
  const child = new Deno.Command("git", {
    args,
    env: cli.env(),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const output = await child.output();
  if (output.code !== 0) throw new Error(new TextDecoder().decode(output.stderr));
  return output.stdout;
}

/**
 * A repository with three commits of 300 similar files, each a few lines longer than the one
 * before, so that Git stores most as deltas in chains (of depth 2 and more).
 */
async function repository() {
  const root = await Deno.makeTempDir({ prefix: "gitfaas-pack-index-" });
  await Deno.mkdir(`${root}/home`);
  const cli = new GitCli(`${root}/home`);
  const work = `${root}/work`;
  await cli.run(["init", "--quiet", "--initial-branch=main", work]);
  const commitAll = async (round: number) => {
    for (let i = 0; i < 300; i++) {
      const lines = Array.from({ length: 20 + (i % 60) }, (_, l) => `line ${l} of a long file`);
      if (i % 10 === round) lines[round] = `changed in round ${round}`;
      await Deno.mkdir(`${work}/d${i % 5}`, { recursive: true });
      await Deno.writeTextFile(`${work}/d${i % 5}/f${i}.txt`, lines.join("\n"));
    }
    await Deno.writeTextFile(`${work}/empty`, "");
    await cli.run(["add", "-A"], { cwd: work });
    await cli.run(["commit", "--quiet", "-m", `round ${round}`], { cwd: work });
  };
  for (const round of [0, 1, 2]) await commitAll(round);
  return { root, cli, gitdir: `${work}/.git`, work };
}

const LIMITS = { maxObjectBytes: 2 ** 20, maxTotalBytes: 64 * 2 ** 20 };

Deno.test("the index of a Git-made pack is the one git index-pack writes", async () => {
  const repo = await repository();
  try {
    const pack = await gitBytes(repo.cli, [
      "--git-dir",
      repo.gitdir,
      "pack-objects",
      "--stdout",
      "--revs",
      "--depth=50",
      "--threads=1",
      // Deltas against an earlier offset, as servers send when the client asks for ofs-delta.
      "--delta-base-offset",
    ], "HEAD\n");
    await Deno.writeFile(`${repo.root}/p.pack`, pack);
    await repo.cli.run(["index-pack", "-o", `${repo.root}/p.idx`, `${repo.root}/p.pack`]);
    const expected = await Deno.readFile(`${repo.root}/p.idx`);

    const chains = await repo.cli.run(["verify-pack", "-v", `${repo.root}/p.idx`]);
    assert(
      /^chain length = ([2-9]|[1-9][0-9])/m.test(chains),
      `no delta chains of depth 2+:\n${chains}`,
    );

    const indexed = await indexPack(pack, LIMITS);
    assertEquals(indexed.pack, pack);
    assertEquals(indexed.idx, expected);
    assertEquals(indexed.received, parsePackIndex(expected).oids.length);
  } finally {
    await Deno.remove(repo.root, { recursive: true });
  }
});

Deno.test("a thin pack is completed with bases from the cache into a pack Git accepts alone", async () => {
  const repo = await repository();
  try {
    const thin = await gitBytes(repo.cli, [
      "--git-dir",
      repo.gitdir,
      "pack-objects",
      "--stdout",
      "--revs",
      "--thin",
      "--delta-base-offset",
    ], "HEAD\n^HEAD~1\n");
    const readObject = async (oid: string): Promise<GitObject> => {
      const { type, object } = await git.readObject({
        fs: nodeFs,
        gitdir: repo.gitdir,
        oid,
        format: "content",
      });
      return { type: type as ObjectType, content: object as Uint8Array };
    };
    await assertRejects(() => indexPack(thin, LIMITS), PackError, "not in the pack or cache");

    const indexed = await indexPack(thin, { ...LIMITS, readObject });
    assert(indexed.pack.length > thin.length, "bases were appended");
    await Deno.writeFile(`${repo.root}/fat.pack`, indexed.pack);
    // Without --fix-thin, index-pack refuses a pack whose deltas have no base in it.
    await repo.cli.run(["index-pack", "-o", `${repo.root}/fat.idx`, `${repo.root}/fat.pack`]);
    assertEquals(indexed.idx, await Deno.readFile(`${repo.root}/fat.idx`));
  } finally {
    await Deno.remove(repo.root, { recursive: true });
  }
});

/** A pack of the given entries (each already a header and deflated data). */
function packOf(entries: Uint8Array[]): Uint8Array {
  const body = entries.reduce((n, e) => n + e.length, 12);
  const pack = new Uint8Array(body + 20);
  pack.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(pack.buffer).setUint32(8, entries.length);
  let at = 12;
  for (const entry of entries) {
    pack.set(entry, at);
    at += entry.length;
  }
  pack.set(decodeHex(sha1Hex(pack.subarray(0, body))), body);
  return pack;
}

function entry(header: Uint8Array, data: Uint8Array): Uint8Array {
  const deflated = zlib.deflateSync(data);
  const out = new Uint8Array(header.length + deflated.length);
  out.set(header);
  out.set(deflated, header.length);
  return out;
}

const BLOB = 3;

Deno.test("sizes are refused from headers, before anything large is inflated", async () => {
  // A blob declared at 100 MB: refused from its header alone (its data is never read).
  const declared = packOf([entry(encodeEntryHeader(BLOB, 100_000_000), new Uint8Array(8))]);
  const tooBig = await assertRejects(() => indexPack(declared, LIMITS), ObjectTooLargeError);
  assertEquals([tooBig.limit, tooBig.type, tooBig.size], ["object", "blob", 100_000_000]);

  // A delta of a few bytes that declares a 100 MB result.
  const base = entry(encodeEntryHeader(BLOB, 5), new TextEncoder().encode("hello"));
  const delta = new Uint8Array([5, 0x80, 0xc2, 0xd7, 0x2f, 0x90, 5]); // 5 → 100,000,000
  const deltaHeader = new Uint8Array([...encodeEntryHeader(6, delta.length), base.length]);
  const bomb = packOf([base, entry(deltaHeader, delta)]);
  const fromDelta = await assertRejects(() => indexPack(bomb, LIMITS), ObjectTooLargeError);
  assertEquals([fromDelta.type, fromDelta.size], ["delta", 100_000_000]);

  // Blobs each under the cap, together over the total.
  const blobs = Array.from({ length: 4 }, (_, i) => {
    const content = new Uint8Array(600_000).fill(i + 1);
    return entry(encodeEntryHeader(BLOB, content.length), content);
  });
  const total = await assertRejects(
    () => indexPack(packOf(blobs), { ...LIMITS, maxTotalBytes: 2_000_000 }),
    ObjectTooLargeError,
  );
  assertEquals(total.limit, "total");

  // A stream that inflates past the size its header declares stops at that size.
  const lying = packOf([entry(encodeEntryHeader(BLOB, 10), new Uint8Array(1_000_000))]);
  await assertRejects(() => indexPack(lying, LIMITS), PackError, "past its declared 10 bytes");
});

Deno.test("a damaged pack or index is refused", async () => {
  const content = new TextEncoder().encode("some content\n");
  const pack = packOf([entry(encodeEntryHeader(BLOB, content.length), content)]);
  const { idx } = await indexPack(pack, LIMITS);
  assertEquals(parsePackIndex(idx).oids, [
    (await git.hashBlob({ object: content })).oid,
  ]);

  const flipped = pack.slice();
  flipped[14] ^= 0xff;
  await assertRejects(() => indexPack(flipped, LIMITS), PackError, "checksum");
  await assertRejects(() => indexPack(pack.subarray(0, 20), LIMITS), PackError);
  for (const torn of [new Uint8Array(0), idx.subarray(0, idx.length - 1)]) {
    let error: unknown;
    try {
      parsePackIndex(torn);
    } catch (e) {
      error = e;
    }
    assert(error instanceof PackError, String(error));
  }
});

async function assertRejects<E extends Error>(
  run: () => Promise<unknown>,
  type: new (...args: never[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await run();
  } catch (error) {
    assert(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (includes) assert((error as Error).message.includes(includes), (error as Error).message);
    return error as E;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}
