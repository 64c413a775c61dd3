/**
 * Tests of the test Git server itself: the real git CLI and isomorphic-git
 * against `git http-backend`, basic auth, every fault, and history rewrites.
 */

import git from "isomorphic-git";
import httpNode from "isomorphic-git/http/node";
import httpWeb from "isomorphic-git/http/web";
import fs from "node:fs";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./support/assert.ts";
import { GitCommandError, GitServer } from "./support/git_server.ts";
import { claimablePortRange, ephemeralPortRange, PortClaim } from "./support/ports.ts";

const HOST = "127.0.0.1";

const FILES = { "README.md": "# demo\n", "functions/hello.yaml": "name: hello\n" };

/** Starts a server, runs `body`, and always closes the server. */
async function withServer(body: (server: GitServer) => Promise<void>): Promise<void> {
  const server = await GitServer.start();
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

function onAuthFor(server: GitServer) {
  return () => ({ username: server.user, password: server.token });
}

/** Fetches a URL and reads the whole body, so no response resource is left open. */
async function fetchText(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function readText(dir: string, filepath: string, ref = "HEAD"): Promise<string> {
  const oid = await git.resolveRef({ fs, dir, ref });
  const { blob } = await git.readBlob({ fs, dir, oid, filepath });
  return new TextDecoder().decode(blob);
}

/** The branch heads the server advertises, read with the git CLI. */
async function remoteHeads(server: GitServer, name: string): Promise<Record<string, string>> {
  const out = await server.git.run(["ls-remote", "--heads", server.authedRepoUrl(name)]);
  const heads: Record<string, string> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const [sha, ref] = line.split("\t");
    heads[ref] = sha;
  }
  return heads;
}

Deno.test("git CLI clones over HTTP with credentials and gets 401 without them", async () => {
  await withServer(async (server) => {
    const repo = await server.createRepo("cli", { files: FILES });
    assertEquals(server.repoUrl("cli"), `${server.baseUrl}/cli.git`);
    assert(!server.repoUrl("cli").includes(server.token));
    assertStringIncludes(server.authedRepoUrl("cli"), `${server.user}:${server.token}@`);
    assertEquals(server.user, "gitfaas-test");

    const dir = `${server.root}/cli-clone`;
    await server.git.run(["clone", "--quiet", server.authedRepoUrl("cli"), dir]);
    assertEquals(await Deno.readTextFile(`${dir}/functions/hello.yaml`), "name: hello\n");
    assertEquals(await server.git.run(["rev-parse", "HEAD"], { cwd: dir }), await repo.head());
    // The bare repository's HEAD names the branch, so a clone checks it out.
    assertEquals(await server.git.run(["branch", "--show-current"], { cwd: dir }), "main");

    server.requests.length = 0;
    const anonymous = await server.git.tryRun(["ls-remote", server.repoUrl("cli")]);
    assert(anonymous.code !== 0, "ls-remote without credentials must fail");
    assertEquals(server.requests.map((r) => r.status), [401]);

    const wrong = `http://${server.user}:wrong@${new URL(server.baseUrl).host}/cli.git`;
    const denied = await server.git.tryRun(["clone", wrong, `${server.root}/denied`]);
    assert(denied.code !== 0, "clone with a wrong token must fail");
    assertStringIncludes(denied.stderr, "Authentication failed");

    const unauthenticated = await fetchText(
      `${server.repoUrl("cli")}/info/refs?service=git-upload-pack`,
    );
    assertEquals(unauthenticated.status, 401);
    assertEquals(unauthenticated.headers.get("www-authenticate"), 'Basic realm="git"');
    const badToken = await fetchText(`${server.repoUrl("cli")}/info/refs?service=git-upload-pack`, {
      headers: { authorization: `Basic ${btoa(`${server.user}:nope`)}` },
    });
    assertEquals(badToken.status, 401);
  });
});

Deno.test("custom credentials are honoured", async () => {
  const server = await GitServer.start({ user: "alice", token: "s3cret" });
  try {
    await server.createRepo("custom", { files: FILES });
    assertEquals(server.user, "alice");
    assertEquals(server.token, "s3cret");
    const heads = await remoteHeads(server, "custom");
    assert(heads["refs/heads/main"]);
  } finally {
    await server.close();
  }
});

for (const [clientName, http] of [["web", httpWeb], ["node", httpNode]] as const) {
  Deno.test(`isomorphic-git (http/${clientName}) lists refs, clones and fetches`, async () => {
    await withServer(async (server) => {
      const repo = await server.createRepo("iso", { files: FILES });
      const first = await repo.head();
      const url = server.repoUrl("iso");
      const onAuth = onAuthFor(server);

      for (const protocolVersion of [1, 2] as const) {
        const refs = await git.listServerRefs({ http, url, onAuth, protocolVersion });
        assertEquals(refs.find((r) => r.ref === "refs/heads/main")?.oid, first);
        const info = await git.getRemoteInfo2({ http, url, onAuth, protocolVersion });
        assertEquals(info.protocolVersion, protocolVersion);
        if (info.protocolVersion === 1) {
          assertEquals(info.refs?.find((r) => r.ref === "refs/heads/main")?.oid, first);
        } else {
          assert("ls-refs" in info.capabilities);
        }
      }

      const dir = `${server.root}/iso-clone`;
      await git.clone({ fs, http, dir, url, onAuth, ref: "main", singleBranch: true, depth: 1 });
      assertEquals(await git.resolveRef({ fs, dir, ref: "HEAD" }), first);
      assertEquals(await readText(dir, "functions/hello.yaml"), "name: hello\n");

      const second = await repo.commitAndPush({ "functions/hello.yaml": "name: hello2\n" }, "v2");
      const result = await git.fetch({
        fs,
        http,
        dir,
        url,
        onAuth,
        ref: "main",
        singleBranch: true,
      });
      assertEquals(result.fetchHead, second);
      assertEquals(
        await readText(dir, "functions/hello.yaml", "refs/remotes/origin/main"),
        "name: hello2\n",
      );
    });
  });
}

Deno.test("isomorphic-git without credentials gets an HttpError 401", async () => {
  await withServer(async (server) => {
    await server.createRepo("private", { files: FILES });
    const error = await assertRejects(
      () => git.listServerRefs({ http: httpWeb, url: server.repoUrl("private") }),
      git.Errors.HttpError,
    );
    assertEquals(error.data.statusCode, 401);
  });
});

Deno.test("git protocol v2 and gzip request bodies reach http-backend", async () => {
  await withServer(async (server) => {
    const repo = await server.createRepo("proto", { files: FILES });
    const url = server.repoUrl("proto");
    const authorization = server.authHeader();

    const v2 = await fetchText(`${url}/info/refs?service=git-upload-pack`, {
      headers: { authorization, "git-protocol": "version=2" },
    });
    assertEquals(v2.status, 200);
    assertStringIncludes(v2.text, "version 2");

    // A v2 ls-refs command, gzip-compressed as git clients send large bodies.
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, "0")}${line}`;
    const command = `${pkt("command=ls-refs\n")}0001${pkt("peel\n")}0000`;
    const gzipped = await new Response(
      ReadableStream.from([new TextEncoder().encode(command)]).pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).bytes();
    const lsRefs = await fetchText(`${url}/git-upload-pack`, {
      method: "POST",
      body: gzipped,
      headers: {
        authorization,
        "git-protocol": "version=2",
        "content-type": "application/x-git-upload-pack-request",
        "content-encoding": "gzip",
      },
    });
    assertEquals(lsRefs.status, 200);
    assertStringIncludes(lsRefs.text, `${await repo.head()} refs/heads/main`);
    assertEquals(server.backendErrors, []);
  });
});

Deno.test("fault: down refuses connections and recovers on the same port", async () => {
  await withServer(async (server) => {
    await server.createRepo("down", { files: FILES });
    const { port } = new URL(server.baseUrl);
    const infoRefs = `${server.repoUrl("down")}/info/refs?service=git-upload-pack`;
    const headers = { authorization: server.authHeader() };
    // Leaves a kept-alive connection in fetch's pool, which "down" must close too.
    assertEquals((await fetchText(infoRefs, { headers })).status, 200);
    server.setFault("down");
    await server.settled();
    await assertRejects(() => fetch(infoRefs, { headers }), TypeError);
    await assertRejects(
      () => Deno.connect({ hostname: "127.0.0.1", port: Number(port) }),
      Deno.errors.ConnectionRefused,
    );
    await assertRejects(
      () =>
        git.listServerRefs({
          http: httpWeb,
          url: server.repoUrl("down"),
          onAuth: onAuthFor(server),
        }),
      TypeError,
    );
    assertEquals(new URL(server.baseUrl).port, port);

    server.setFault("none");
    await server.settled();
    assertEquals(new URL(server.baseUrl).port, port);
    const refs = await git.listServerRefs({
      http: httpWeb,
      url: server.repoUrl("down"),
      onAuth: onAuthFor(server),
    });
    assert(refs.some((r) => r.ref === "refs/heads/main"));

    // Going down and straight back up must not lose the port either.
    server.setFault("down");
    server.setFault("none");
    await server.settled();
    assert((await remoteHeads(server, "down"))["refs/heads/main"]);
  });
});

Deno.test("fault: down keeps a port that nothing else on the machine is given meanwhile", async () => {
  // The kernel hands its ephemeral ports to every bind(0) and outgoing connection on the
  // machine: a port from there, given up while "down", could be taken before the server
  // reopens it (AddrInUse). The server's port lies below that range, and is claimed against
  // other test servers.
  await withServer(async (server) => {
    const port = Number(new URL(server.baseUrl).port);
    const [low, high] = claimablePortRange();
    assert(port >= low && port <= high, `port ${port} is outside ${low}–${high}`);
    assert(port < ephemeralPortRange()[0], `port ${port} is in the ephemeral range`);
    assertEquals(PortClaim.claim(port), undefined, "another server could claim the port");

    server.setFault("down");
    await server.settled();
    // Many listeners and connections of other code, while the port is free.
    const taken = Array.from({ length: 200 }, () => Deno.listen({ hostname: HOST, port: 0 }));
    try {
      assert(taken.every((l) => l.addr.port !== port));
      assertEquals(PortClaim.claim(port), undefined, "the port stays claimed while down");
    } finally {
      for (const listener of taken) listener.close();
    }
    server.setFault("none");
    await server.settled();
    assertEquals(Number(new URL(server.baseUrl).port), port);
  });
});

Deno.test("a claimed port is held until released, by one claim at a time", () => {
  const first = PortClaim.any();
  try {
    assertEquals(PortClaim.claim(first.port), undefined);
  } finally {
    first.release();
  }
  const again = PortClaim.claim(first.port);
  assert(again, "a released port can be claimed again");
  again.release();
});

Deno.test("fault: unauthorized, forbidden and error500", async () => {
  await withServer(async (server) => {
    await server.createRepo("faults", { files: FILES });
    const url = `${server.repoUrl("faults")}/info/refs?service=git-upload-pack`;
    const headers = { authorization: server.authHeader() };

    server.setFault("unauthorized");
    const unauthorized = await fetchText(url, { headers });
    assertEquals(unauthorized.status, 401);
    assertEquals(unauthorized.headers.get("www-authenticate"), 'Basic realm="git"');
    const error = await assertRejects(
      () =>
        git.listServerRefs({
          http: httpWeb,
          url: server.repoUrl("faults"),
          onAuth: onAuthFor(server),
        }),
      git.Errors.HttpError,
    );
    assertEquals(error.data.statusCode, 401);
    const cli = await server.git.tryRun(["ls-remote", server.authedRepoUrl("faults")]);
    assert(cli.code !== 0);

    server.setFault("forbidden");
    assertEquals((await fetchText(url, { headers })).status, 403);
    server.setFault("error500");
    assertEquals((await fetchText(url, { headers })).status, 500);

    server.setFault("none");
    assertEquals((await fetchText(url, { headers })).status, 200);
  });
});

Deno.test("fault: hang never answers until the fault changes", async () => {
  await withServer(async (server) => {
    await server.createRepo("hang", { files: FILES });
    const url = `${server.repoUrl("hang")}/info/refs?service=git-upload-pack`;
    const headers = { authorization: server.authHeader() };
    server.setFault("hang");
    server.requests.length = 0;
    const started = performance.now();
    await assertRejects(
      () => fetch(url, { headers, signal: AbortSignal.timeout(300) }),
      DOMException,
    );
    assert(performance.now() - started >= 250);
    assertEquals(server.requests.map((r) => r.status), [0]);

    server.setFault("none");
    await server.settled();
    assertEquals((await fetchText(url, { headers })).status, 200);
    // The parked request was released with a 503 once the fault changed.
    assertEquals(server.requests.map((r) => r.status).sort(), [200, 503]);
  });
});

Deno.test("fault: hang is released by close()", async () => {
  const server = await GitServer.start();
  server.setFault("hang");
  const pending = fetch(`${server.baseUrl}/x.git/info/refs`).then(async (response) => {
    await response.body?.cancel();
    return response.status;
  });
  // The request must be parked in the handler before closing.
  for (let i = 0; i < 500 && server.requests.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assertEquals(server.requests.length, 1);
  await server.close();
  assertEquals(await pending, 503);
});

Deno.test("fault: truncate cuts upload-pack responses so fetches fail", async () => {
  await withServer(async (server) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`f/${i}.txt`] = `file ${i}\n`.repeat(20);
    await server.createRepo("trunc", { files });
    const url = server.repoUrl("trunc");
    const onAuth = onAuthFor(server);

    server.setFault("truncate");
    // The v1 ref advertisement (a GET) is not truncated, pack data is.
    const refs = await git.listServerRefs({ http: httpWeb, url, onAuth, protocolVersion: 1 });
    assert(refs.length > 0);
    await assertRejects(
      () => git.clone({ fs, http: httpWeb, dir: `${server.root}/t1`, url, onAuth }),
      Error,
    );
    const cli = await server.git.tryRun([
      "clone",
      "--quiet",
      server.authedRepoUrl("trunc"),
      `${server.root}/t2`,
    ]);
    assert(cli.code !== 0, "git clone must fail on a truncated pack");
    const cut = server.requests.filter((r) => r.path.endsWith("/git-upload-pack"));
    assert(cut.length > 0 && cut.every((r) => r.status === 200 && r.bytes > 0));

    server.setFault("none");
    await git.clone({ fs, http: httpWeb, dir: `${server.root}/t3`, url, onAuth });
    assertEquals(await readText(`${server.root}/t3`, "f/7.txt"), "file 7\n".repeat(20));
  });
});

Deno.test("fault: truncate also cuts protocol v2 ls-refs listings", async () => {
  await withServer(async (server) => {
    const repo = await server.createRepo("listing", { files: FILES });
    for (let i = 0; i < 20; i++) await repo.push({ branch: `branch-${i}` });
    const url = server.repoUrl("listing");
    const onAuth = onAuthFor(server);
    const full = await git.listServerRefs({ http: httpWeb, url, onAuth, protocolVersion: 2 });
    assertEquals(full.length, 22); // HEAD, main and 20 branches

    server.setFault("truncate");
    // isomorphic-git 1.44.17 swallows the aborted body and returns the refs
    // read so far instead of throwing: a missing branch in a listing is no
    // proof that it was deleted. Either outcome shows the cut reached it.
    const cut = await git.listServerRefs({ http: httpWeb, url, onAuth, protocolVersion: 2 })
      .then((refs) => refs.length, () => -1);
    assert(cut < full.length, `expected a failed or partial listing, got ${cut} refs`);
  });
});

Deno.test("force push and remote branch deletion", async () => {
  await withServer(async (server) => {
    const repo = await server.createRepo("history", { branch: "trunk", files: FILES });
    assertEquals(repo.branch, "trunk");
    const c1 = await repo.head();
    const c2 = await repo.commitAndPush({ "a.txt": "a\n" }, "c2");
    assertEquals((await remoteHeads(server, "history"))["refs/heads/trunk"], c2);
    const symref = await server.git.run(["symbolic-ref", "HEAD"], { cwd: repo.bareDir });
    assertEquals(symref, "refs/heads/trunk");

    await repo.resetHard(c1);
    const c3 = await repo.commit("c3 rewrites history");
    await assertRejects(() => repo.push(), GitCommandError, "rejected");
    await repo.push({ force: true });
    assertEquals((await remoteHeads(server, "history"))["refs/heads/trunk"], c3);
    const refs = await git.listServerRefs({
      http: httpWeb,
      url: server.repoUrl("history"),
      onAuth: onAuthFor(server),
    });
    assertEquals(refs.find((r) => r.ref === "refs/heads/trunk")?.oid, c3);

    await repo.push({ branch: "feature" });
    assertEquals((await remoteHeads(server, "history"))["refs/heads/feature"], c3);
    await repo.deleteRemoteBranch("feature");
    assertEquals(Object.keys(await remoteHeads(server, "history")), ["refs/heads/trunk"]);
  });
});

Deno.test("write deletes with null, creates nested dirs and symlinks", async () => {
  await withServer(async (server) => {
    const repo = await server.createRepo("tree", { files: FILES });
    await repo.write({ "README.md": null, "deep/er/x.txt": "x\n" });
    await repo.symlink("link", "deep/er/x.txt");
    const sha = await repo.commit("tree changes");
    await repo.push();

    const dir = `${server.root}/tree-clone`;
    await git.clone({
      fs,
      http: httpWeb,
      dir,
      url: server.repoUrl("tree"),
      onAuth: onAuthFor(server),
    });
    assertEquals(await git.resolveRef({ fs, dir, ref: "HEAD" }), sha);
    const files = await git.listFiles({ fs, dir, ref: "HEAD" });
    assertEquals(files.sort(), ["deep/er/x.txt", "functions/hello.yaml", "link"]);
    const { tree } = await git.readTree({ fs, dir, oid: sha });
    assertEquals(tree.find((entry) => entry.path === "link")?.mode, "120000");
    assertEquals(await readText(dir, "link"), "deep/er/x.txt");
    await assertRejects(() => repo.write({ "../escape": "x" }), TypeError);
  });
});

Deno.test("a 10,000-file repository is created with one commit", async () => {
  await withServer(async (server) => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`fns/${i % 100}/fn${i}.yaml`] = `name: fn${i}\n`;
    const repo = await server.createRepo("big", { files });
    assertEquals(await repo.git("rev-list", "--count", "HEAD"), "1");
    const count = await server.git.run(["ls-tree", "-r", "--name-only", "HEAD"], {
      cwd: repo.bareDir,
    });
    assertEquals(count.split("\n").length, 10_000);
  });
});

Deno.test("close() removes the temp dir and is idempotent", async () => {
  const server = await GitServer.start();
  await server.createRepo("gone", { files: FILES });
  await Promise.all([server.close(), server.close()]);
  await assertRejects(() => Deno.stat(server.root), Deno.errors.NotFound);
  await assertRejects(
    () => Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(server.baseUrl).port) }),
    Deno.errors.ConnectionRefused,
  );
});
