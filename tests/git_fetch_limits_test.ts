/**
 * Issue 14, item 3: a large file anywhere in the repository must not be inflated into the
 * router's memory. A commit holding a file over GIT_MAX_BLOB_BYTES, or whose fetch is over
 * GIT_MAX_FETCH_BYTES, is refused with a clear error on /status and /refresh; the last good
 * index keeps serving, the refused commit is not downloaded again, and the next good commit is
 * followed.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { startStack } from "./support/fixtures.ts";
import type { GitRequest } from "./support/git_server.ts";

const fetches = (requests: GitRequest[]) => requests.filter((r) => r.command === "fetch");

Deno.test("a commit with a file over GIT_MAX_BLOB_BYTES is refused before it is inflated; the last index serves", async () => {
  const stack = await startStack({ env: { GIT_MAX_BLOB_BYTES: String(2 ** 20) } });
  const { router, repo, git } = stack;
  try {
    const good = await repo.head();
    // 8 MB of zeros deflate to a few kilobytes: only the object's declared size shows it.
    const big = await repo.commitAndPush({ "assets/zeros.bin": "\0".repeat(8_000_000) }, "big");

    const refused = await router.call("/refresh");
    assertEquals(refused.status, 502, JSON.stringify(refused.body));
    assertEquals(refused.body.kind, "too-large");
    assertStringIncludes(refused.body.error, `commit ${big.slice(0, 12)} is refused`);
    assertStringIncludes(refused.body.error, "blob of 8000000 bytes");
    assertStringIncludes(refused.body.error, "GIT_MAX_BLOB_BYTES (1048576 bytes)");
    const status = (await router.call("/status")).body;
    assertEquals([status.revision, status.lastSync.outcome], [good, "failed"]);
    assertStringIncludes(status.lastSync.error, "GIT_MAX_BLOB_BYTES");
    const published = await router.call("/publish/echo", { method: "POST", body: "still" });
    assertEquals([published.status, published.body.revision], [202, good]);

    // Asked again, the refused commit is not downloaded again.
    const from = git.requests.length;
    assertEquals((await router.call("/refresh")).body.kind, "too-large");
    assertEquals(fetches(git.requests.slice(from)).length, 0);

    const fixed = await repo.commitAndPush({ "assets/zeros.bin": null }, "remove it");
    assertEquals((await router.call("/refresh")).body, { revision: fixed, changed: true });
  } finally {
    await stack.close();
  }
});

Deno.test("a fetch over GIT_MAX_FETCH_BYTES is cut off as it arrives and refused; the last index serves", async () => {
  const stack = await startStack({ env: { GIT_MAX_FETCH_BYTES: String(2 ** 20) } });
  const { router, repo, git } = stack;
  try {
    const good = await repo.head();
    // Random bytes do not compress: the pack is as large as the file.
    const noise = new Uint8Array(16 * 2 ** 20);
    for (let i = 0; i < noise.length; i += 65536) {
      crypto.getRandomValues(noise.subarray(i, i + 65536));
    }
    await Deno.mkdir(`${repo.workDir}/assets`, { recursive: true });
    await Deno.writeFile(`${repo.workDir}/assets/noise.bin`, noise);
    const big = await repo.commit("noise");
    await repo.push();

    const from = git.requests.length;
    const refused = await router.call("/refresh");
    assertEquals(refused.status, 502, JSON.stringify(refused.body));
    assertEquals(refused.body.kind, "too-large");
    assertStringIncludes(refused.body.error, `commit ${big.slice(0, 12)} is not fetched`);
    assertStringIncludes(refused.body.error, "GIT_MAX_FETCH_BYTES (1048576 bytes)");
    const [fetch] = fetches(git.requests.slice(from));
    // The router hung up once past the cap: the server could not send the whole pack.
    await router.waitFor(() => fetch.time > 0);
    assert(fetch.bytes < noise.length, `${fetch.bytes} bytes sent of a ${noise.length}-byte pack`);
    const status = (await router.call("/status")).body;
    assertEquals([status.revision, status.lastSync.outcome], [good, "failed"]);
    assertStringIncludes(status.lastSync.error, "GIT_MAX_FETCH_BYTES");
    const published = await router.call("/publish/echo", { method: "POST", body: "still" });
    assertEquals([published.status, published.body.revision], [202, good]);
    // Nothing of the refused pack stays in DATA_DIR.
    for await (const cache of Deno.readDir(stack.dataDir)) {
      if (!cache.name.endsWith(".git")) continue;
      for await (const file of Deno.readDir(`${stack.dataDir}/${cache.name}/objects/pack`)) {
        assert(file.name.startsWith("pack-"), `left in the cache: ${file.name}`);
      }
    }
  } finally {
    await stack.close();
  }
});
