/**
 * A real Git smart-HTTP server for the test suite.
 *
 * Requests are answered by the real `git http-backend` CGI behind a
 * `Deno.serve` listener on 127.0.0.1 with HTTP basic auth, and repositories
 * are built with real `git` commits and pushes. Faults (refused connections,
 * auth failures, hangs, 500s, truncated packs) can be switched on at any time
 * to exercise the client's error handling.
 *
 * ```ts
 * const server = await GitServer.start();
 * try {
 *   const repo = await server.createRepo("functions", { files: { "a.yaml": "x: 1\n" } });
 *   const sha = await repo.commitAndPush({ "a.yaml": "x: 2\n" }, "bump");
 *   // point the code under test at server.repoUrl("functions") with
 *   // { username: server.user, password: server.token }
 * } finally {
 *   await server.close();
 * }
 * ```
 *
 * @module
 */

import { runHttpBackend } from "./git_cgi.ts";
import { GitCli } from "./git_cli.ts";
import { PortClaim } from "./ports.ts";

export { GitCommandError, TEST_AUTHOR } from "./git_cli.ts";

/** Options of {@linkcode GitServer.start}. */
export interface GitServerOptions {
  /** Basic-auth user name; defaults to `"gitfaas-test"`. */
  user?: string;
  /** Basic-auth password (a token); defaults to a random one. */
  token?: string;
  /**
   * `false`: ignore the `Git-Protocol` header, as a server that only speaks protocol v0 does
   * (every ref listing then holds every ref). Default: protocol v2 when the client asks.
   */
  protocolV2?: boolean;
}

/**
 * A failure mode of the server.
 *
 * - `"none"`: normal service.
 * - `"down"`: the listener is closed, so connections are refused; it is
 *   reopened on the same port when any other fault is set. The port is one
 *   the kernel never hands out on its own and no other test server takes
 *   (`ports.ts`), so it is still free then. Deno closes the socket and
 *   kept-alive connections asynchronously (within milliseconds):
 *   `await server.settled()` before asserting that a connection is refused.
 * - `"unauthorized"`: every request gets 401 with `WWW-Authenticate`, even
 *   with valid credentials.
 * - `"forbidden"`: every request gets 403.
 * - `"hang"`: requests are never answered, until the fault changes or the
 *   server closes (then they get 503).
 * - `"error500"`: every request gets 500.
 * - `"truncate"`: `POST …/git-upload-pack` responses (pack data, and the
 *   protocol v2 `ls-refs`/`fetch` answers) are cut off half-way by aborting
 *   the connection; ref advertisements (`GET …/info/refs`) are served whole.
 * - `"truncate-pack"`: as `"truncate"`, for answers carrying a pack only
 *   (protocol v2 `fetch`, protocol v0 upload-pack); ref listings are whole.
 */
export type GitFault =
  | "none"
  | "down"
  | "unauthorized"
  | "forbidden"
  | "hang"
  | "error500"
  | "truncate"
  | "truncate-pack";

/** One request seen by the server, in arrival order. */
export interface GitRequest {
  /** HTTP method. */
  method: string;
  /** URL path, e.g. `/demo.git/info/refs`. */
  path: string;
  /** Query string without `?`, e.g. `service=git-upload-pack`. */
  query: string;
  /** Status sent; 0 while a hung request waits. */
  status: number;
  /** Response body bytes actually sent so far. */
  bytes: number;
  /** Milliseconds from arrival until the response body ended (0 until then). */
  time: number;
  /**
   * For `POST …/git-upload-pack`: the protocol v2 command (`"ls-refs"`, `"fetch"`), or
   * `"fetch"` for a protocol v0 request (which always asks for a pack).
   */
  command?: string;
}

const HOST = "127.0.0.1";
const DEFAULT_USER = "gitfaas-test";

/** Signals the deliberate cut of a truncated response, so it is not logged as a failure. */
class TruncatedResponse extends Error {
  constructor() {
    super("response truncated by the test git server (fault: truncate)");
    this.name = "TruncatedResponse";
  }
}

/** Rejects repository names that could escape the project root. */
function checkRepoName(name: string): void {
  const segment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
  const parts = name.split("/");
  if (name.endsWith(".git") || !parts.every((part) => segment.test(part) && part !== "..")) {
    throw new TypeError(`invalid test repository name: ${JSON.stringify(name)}`);
  }
}

/** Rejects work-tree paths that are absolute or climb out of the work tree. */
function checkRelativePath(path: string): void {
  const parts = path.split("/");
  if (
    path === "" || path.startsWith("/") || parts.some((p) => p === ".." || p === "" || p === ".") ||
    parts[0] === ".git"
  ) {
    throw new TypeError(`invalid path in test repository: ${JSON.stringify(path)}`);
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function plainResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  return new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Global git configuration of the test HOME, shared by the CLI and http-backend. */
const GITCONFIG = `[init]
\tdefaultBranch = main
[advice]
\tdetachedHead = false
[core]
\tautocrlf = false
[credential]
\thelper =
[protocol]
\tversion = 2
[gc]
\t# A detached background gc would outlive close() and race the temp-dir removal.
\tauto = 0
\tautoDetach = false
[maintenance]
\tauto = false
[receive]
\tautogc = false
`;

/** A Git smart-HTTP server backed by `git http-backend`. See the module doc. */
export class GitServer {
  /** Basic-auth user name. */
  readonly user: string;
  /** Basic-auth password. */
  readonly token: string;
  /** Every request seen, with its status and response size; clear with `requests.length = 0`. */
  readonly requests: GitRequest[] = [];
  /** Temp directory holding everything; removed by {@linkcode GitServer.close}. */
  readonly root: string;
  /** Hermetic git CLI (isolated HOME, no prompts) also usable by tests. */
  readonly git: GitCli;
  /** stderr of `git http-backend` runs that exited non-zero, for diagnosis. */
  readonly backendErrors: string[] = [];

  readonly #reposDir: string;
  readonly #workRoot: string;
  #port = 0;
  /** Keeps the port ours while "down" has no listener on it. */
  #claim: PortClaim | null = null;
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #fault: GitFault = "none";
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Shutdowns of listeners taken down by "down" that may still hold the port. */
  #stopping: Promise<void> = Promise.resolve();
  #reopening: Promise<void> = Promise.resolve();
  #reopenError: unknown = null;
  #hangs = new Set<() => void>();
  #inflight = new Set<Promise<unknown>>();
  #repoNames = new Set<string>();

  readonly #protocolV2: boolean;

  private constructor(root: string, user: string, token: string, protocolV2: boolean) {
    this.#protocolV2 = protocolV2;
    this.root = root;
    this.user = user;
    this.token = token;
    this.#reposDir = `${root}/repos`;
    this.#workRoot = `${root}/work`;
    this.git = new GitCli(`${root}/home`);
  }

  /**
   * Creates the temp directory and starts listening on a free port of 127.0.0.1, below the
   * kernel's ephemeral range (see `ports.ts`).
   */
  static async start(options: GitServerOptions = {}): Promise<GitServer> {
    const root = await Deno.makeTempDir({ prefix: "gitfaas-git-server-" });
    const server = new GitServer(
      root,
      options.user ?? DEFAULT_USER,
      options.token ?? randomToken(),
      options.protocolV2 ?? true,
    );
    try {
      await Deno.mkdir(server.git.home, { recursive: true });
      await Deno.mkdir(server.#reposDir, { recursive: true });
      await Deno.mkdir(server.#workRoot, { recursive: true });
      await Deno.writeTextFile(`${server.git.home}/.gitconfig`, GITCONFIG);
      server.#listenOnClaimedPort();
    } catch (error) {
      await Deno.remove(root, { recursive: true }).catch(() => {});
      throw error;
    }
    return server;
  }

  /** `http://127.0.0.1:PORT`; the port stays the same across "down" faults. */
  get baseUrl(): string {
    return `http://${HOST}:${this.#port}`;
  }

  /** The fault currently in force. */
  get fault(): GitFault {
    return this.#fault;
  }

  /** Clone URL of a repository, without credentials. */
  repoUrl(name: string): string {
    return `${this.baseUrl}/${name}.git`;
  }

  /** Clone URL with `user:token@` embedded, for the git CLI. */
  authedRepoUrl(name: string): string {
    const auth = `${encodeURIComponent(this.user)}:${encodeURIComponent(this.token)}`;
    return `http://${auth}@${HOST}:${this.#port}/${name}.git`;
  }

  /** The `Authorization` header value for the server's credentials. */
  authHeader(): string {
    const bytes = new TextEncoder().encode(`${this.user}:${this.token}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }

  /**
   * Creates a bare repository served at {@linkcode GitServer.repoUrl} and a
   * working clone whose `origin` points at it over HTTP. When `files` are
   * given they are committed in one commit and pushed, so large trees stay
   * cheap to build.
   */
  async createRepo(
    name: string,
    options: { branch?: string; files?: Record<string, string> } = {},
  ): Promise<TestRepo> {
    checkRepoName(name);
    if (this.#repoNames.has(name)) throw new Error(`test repository ${name} already exists`);
    this.#repoNames.add(name);
    const branch = options.branch ?? "main";
    const bareDir = `${this.#reposDir}/${name}.git`;
    const workDir = `${this.#workRoot}/${name}`;
    const git = this.git;
    await git.run(["-c", `init.defaultBranch=${branch}`, "init", "--quiet", "--bare", bareDir]);
    await git.run(["config", "http.receivepack", "true"], { cwd: bareDir });
    await git.run(["symbolic-ref", "HEAD", `refs/heads/${branch}`], { cwd: bareDir });
    await git.run(["-c", `init.defaultBranch=${branch}`, "init", "--quiet", workDir]);
    await git.run(["remote", "add", "origin", this.authedRepoUrl(name)], { cwd: workDir });
    const repo = new TestRepo({
      name,
      workDir,
      bareDir,
      branch,
      git,
      beforeRemote: () => this.settled(),
    });
    if (options.files !== undefined) {
      await repo.write(options.files);
      await repo.commit("initial commit");
      await repo.push();
    }
    return repo;
  }

  /** Switches the failure mode; takes effect for the next request or connection. */
  setFault(fault: GitFault): void {
    if (this.#closed) return;
    this.#fault = fault;
    if (fault !== "hang") this.#releaseHangs();
    if (fault === "down") this.#takeDown();
    else if (this.#server === null) this.#bringUp();
  }

  /**
   * Resolves once the last {@linkcode GitServer.setFault} has fully taken
   * effect at the socket level. Deno releases a listener asynchronously
   * (within milliseconds), so right after `setFault("down")` a connection may
   * still be reset rather than refused, and a reopen requested within that
   * window is deferred until the old socket is gone.
   */
  async settled(): Promise<void> {
    await this.#stopping;
    await this.#reopening;
    if (this.#reopenError !== null) throw this.#reopenError;
  }

  /** Stops listening, releases hung requests, waits for every process and removes the temp dir. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#releaseHangs();
    this.#takeDown();
    await this.#reopening;
    await this.#stopping;
    this.#claim?.release();
    this.#claim = null;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
    if (this.#reopenError !== null) throw this.#reopenError;
  }

  /** Listens on a claimed port; one some other program listens on is given back for another. */
  #listenOnClaimedPort(): void {
    for (let attempt = 1;; attempt++) {
      const claim = PortClaim.any();
      try {
        this.#listen(claim.port);
        this.#claim = claim;
        return;
      } catch (error) {
        claim.release();
        if (!(error instanceof Deno.errors.AddrInUse) || attempt === 20) throw error;
      }
    }
  }

  #listen(port: number): void {
    this.#server = Deno.serve({
      hostname: HOST,
      port,
      onListen: () => {},
      onError: (error) => {
        if (!(error instanceof TruncatedResponse)) this.backendErrors.push(String(error));
        return plainResponse(500, "internal error");
      },
    }, (request, info) => this.#track(this.#handle(request, info)));
    this.#port = this.#server.addr.port;
  }

  #takeDown(): void {
    const server = this.#server;
    if (server === null) return;
    this.#server = null;
    this.#stopping = Promise.all([this.#stopping, server.shutdown(), server.finished]).then(
      () => {},
    );
  }

  #bringUp(): void {
    try {
      this.#listen(this.#port);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      // The listener closed by "down" is still being released; retry once it is gone.
      this.#reopening = this.#stopping.then(() => {
        if (this.#closed || this.#fault === "down" || this.#server !== null) return;
        try {
          this.#listen(this.#port);
        } catch (error) {
          this.#reopenError = error;
        }
      });
    }
  }

  #releaseHangs(): void {
    for (const release of this.#hangs) release();
    this.#hangs.clear();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inflight.add(promise);
    const forget = () => this.#inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #authorized(request: Request): boolean {
    const header = request.headers.get("authorization");
    const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
    if (!match) return false;
    let decoded: string;
    try {
      const binary = atob(match[1]);
      decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    } catch {
      return false;
    }
    return decoded === `${this.user}:${this.token}`;
  }

  async #handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const started = performance.now();
    const url = new URL(request.url);
    const record: GitRequest = {
      method: request.method,
      path: url.pathname,
      query: url.search.slice(1),
      status: 0,
      bytes: 0,
      time: 0,
    };
    this.requests.push(record);

    const fault = this.#fault;
    if (fault === "hang") {
      // Parked until the fault changes or the server closes; then answered 503.
      await new Promise<void>((resolve) => this.#hangs.add(resolve));
    }
    const { response, truncate } = await this.#respond(request, { info, url, fault, record });
    record.status = response.status;
    return new Response(this.#meter(response.body, record, started, truncate), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }

  async #respond(
    request: Request,
    { info, url, fault, record }: {
      info: Deno.ServeHandlerInfo<Deno.NetAddr>;
      url: URL;
      fault: GitFault;
      record: GitRequest;
    },
  ): Promise<{ response: Response; truncate: boolean }> {
    const early = this.#faultResponse(fault) ??
      (this.#authorized(request) ? null : plainResponse(401, "authentication required", {
        "www-authenticate": 'Basic realm="git"',
      }));
    if (early !== null) return { response: early, truncate: false };
    let pathInfo: string;
    try {
      pathInfo = decodeURIComponent(url.pathname);
    } catch {
      return { response: plainResponse(400, "malformed path"), truncate: false };
    }
    const headers = new Headers(request.headers);
    if (!this.#protocolV2) headers.delete("git-protocol");
    let body = request.body;
    if (request.method === "POST" && pathInfo.endsWith("/git-upload-pack")) {
      // Small requests: read whole to learn the command, then handed to the CGI as they came.
      const bytes = await request.bytes();
      record.command = await uploadPackCommand(bytes, headers);
      body = new Blob([bytes]).stream();
    }
    const cgi = await runHttpBackend({
      env: this.git.env(),
      projectRoot: this.#reposDir,
      method: request.method,
      pathInfo,
      query: url.search.slice(1),
      headers,
      body,
      remoteUser: this.user,
      remoteAddr: info.remoteAddr.hostname,
    });
    this.#track(cgi.finished.then((exit) => {
      if (exit.code !== 0) this.backendErrors.push(exit.stderr || `exit code ${exit.code}`);
    }));
    // The Response constructor refuses a body for these statuses.
    const nullBody = [101, 103, 204, 205, 304].includes(cgi.status);
    if (nullBody) await cgi.body.cancel();
    const response = new Response(nullBody ? null : cgi.body, {
      status: cgi.status,
      statusText: cgi.statusText,
      headers: cgi.headers,
    });
    const truncate = request.method === "POST" && pathInfo.endsWith("/git-upload-pack") &&
      (fault === "truncate" || (fault === "truncate-pack" && record.command === "fetch"));
    return { response, truncate };
  }

  #faultResponse(fault: GitFault): Response | null {
    switch (fault) {
      case "hang":
        return plainResponse(503, "service unavailable (test fault: hang released)");
      case "down":
        // Only a request on a kept-alive connection that races the listener's
        // asynchronous shutdown gets here; settled() closes that window.
        return plainResponse(503, "service unavailable (test fault: down)", {
          connection: "close",
        });
      case "unauthorized":
        return plainResponse(401, "unauthorized (test fault)", {
          "www-authenticate": 'Basic realm="git"',
        });
      case "forbidden":
        return plainResponse(403, "forbidden (test fault)");
      case "error500":
        return plainResponse(500, "internal server error (test fault)");
      default:
        return null;
    }
  }

  /**
   * Counts the bytes actually sent and, for "truncate", swaps the body for
   * its first half followed by an error, which makes Deno abort the
   * connection instead of ending the response cleanly.
   */
  #meter(
    body: ReadableStream<Uint8Array> | null,
    record: GitRequest,
    started: number,
    truncate = false,
  ): ReadableStream<Uint8Array> | null {
    const done = () => {
      record.time = performance.now() - started;
    };
    if (body === null) {
      done();
      return null;
    }
    if (truncate) {
      let half: Promise<Uint8Array> | null = null;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (half === null) {
            half = new Response(body).bytes().then((all) => all.subarray(0, all.length >> 1));
            const chunk = await half;
            record.bytes += chunk.length;
            if (chunk.length > 0) {
              controller.enqueue(chunk);
              return;
            }
          }
          done();
          controller.error(new TruncatedResponse());
        },
        async cancel(reason) {
          done();
          await body.cancel(reason);
        },
      });
    }
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done: end, value } = await reader.read();
        if (end) {
          done();
          controller.close();
          return;
        }
        record.bytes += value.length;
        controller.enqueue(value);
      },
      async cancel(reason) {
        done();
        await reader.cancel(reason);
      },
    });
  }
}

/** The protocol v2 command of an upload-pack request body, or "fetch" for protocol v0. */
async function uploadPackCommand(bytes: Uint8Array, headers: Headers): Promise<string> {
  let plain = bytes;
  if (headers.get("content-encoding") === "gzip") {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    plain = await new Response(stream).bytes();
  }
  const first = new TextDecoder().decode(plain.subarray(4, 64));
  return /^command=([a-z-]+)/.exec(first)?.[1] ?? "fetch";
}

/** Internal constructor arguments of {@linkcode TestRepo}. */
export interface TestRepoInit {
  /** Repository name, as given to {@linkcode GitServer.createRepo}. */
  name: string;
  /** Working clone. */
  workDir: string;
  /** Bare repository served over HTTP. */
  bareDir: string;
  /** Default branch. */
  branch: string;
  /** Hermetic git runner. */
  git: GitCli;
  /**
   * Awaited before talking to the server, so that a push right after
   * `setFault("none")` cannot race the listener being reopened.
   */
  beforeRemote?: () => Promise<void>;
}

/** How many files are written concurrently; bounded to stay clear of EMFILE. */
const WRITE_CONCURRENCY = 64;

/**
 * A working clone of a served repository; every change reaches the server
 * through a real `git push` over HTTP with basic auth.
 * Made by {@linkcode GitServer.createRepo}.
 */
export class TestRepo {
  /** Repository name. */
  readonly name: string;
  /** Working clone directory. */
  readonly workDir: string;
  /** Bare repository directory served by the server. */
  readonly bareDir: string;
  /** Default branch, also the bare repository's HEAD. */
  readonly branch: string;
  readonly #git: GitCli;
  readonly #beforeRemote: () => Promise<void>;

  /** Use {@linkcode GitServer.createRepo} instead. */
  constructor(init: TestRepoInit) {
    this.name = init.name;
    this.workDir = init.workDir;
    this.bareDir = init.bareDir;
    this.branch = init.branch;
    this.#git = init.git;
    this.#beforeRemote = init.beforeRemote ?? (() => Promise.resolve());
  }

  /** Runs `git` in the working clone and returns its trimmed stdout. */
  git(...args: string[]): Promise<string> {
    return this.#git.run(args, { cwd: this.workDir });
  }

  /** Writes files (creating directories); `null` deletes a file. Nothing is staged yet. */
  async write(files: Record<string, string | null>): Promise<void> {
    const entries = Object.entries(files);
    const dirs = new Set<string>();
    for (const [path, content] of entries) {
      checkRelativePath(path);
      if (content !== null && parentOf(path) !== "") dirs.add(parentOf(path));
    }
    // Creating each directory once keeps a 10,000-file tree fast to write.
    for (const dir of [...dirs].sort()) {
      await Deno.mkdir(`${this.workDir}/${dir}`, { recursive: true });
    }
    for (let i = 0; i < entries.length; i += WRITE_CONCURRENCY) {
      await Promise.all(
        entries.slice(i, i + WRITE_CONCURRENCY).map(async ([path, content]) => {
          const target = `${this.workDir}/${path}`;
          if (content === null) {
            await Deno.remove(target, { recursive: true }).catch((error) => {
              if (!(error instanceof Deno.errors.NotFound)) throw error;
            });
          } else {
            await Deno.writeTextFile(target, content);
          }
        }),
      );
    }
  }

  /** Creates (or replaces) a symbolic link at `path` pointing at `target`. */
  async symlink(path: string, target: string): Promise<void> {
    checkRelativePath(path);
    const link = `${this.workDir}/${path}`;
    if (parentOf(path) !== "") {
      await Deno.mkdir(`${this.workDir}/${parentOf(path)}`, { recursive: true });
    }
    await Deno.remove(link).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    await Deno.symlink(target, link);
  }

  /** Stages everything (`git add -A`) and commits, even when nothing changed; returns the sha. */
  async commit(message: string): Promise<string> {
    await this.git("add", "-A");
    await this.git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message);
    return await this.head();
  }

  /**
   * Pushes HEAD to `refs/heads/<branch>` (default: the repo's branch) over HTTP.
   * `force` allows rewriting history, as after {@linkcode TestRepo.resetHard}.
   */
  async push(options: { force?: boolean; branch?: string } = {}): Promise<void> {
    const branch = options.branch ?? this.branch;
    const args = ["push", "--quiet", "--no-verify"];
    if (options.force) args.push("--force");
    await this.#beforeRemote();
    await this.git(...args, "origin", `HEAD:refs/heads/${branch}`);
  }

  /** {@linkcode TestRepo.write}, {@linkcode TestRepo.commit} and {@linkcode TestRepo.push}; returns the sha. */
  async commitAndPush(
    files: Record<string, string | null>,
    message = "update",
  ): Promise<string> {
    await this.write(files);
    const sha = await this.commit(message);
    await this.push();
    return sha;
  }

  /** `git reset --hard ref` in the working clone (push with `force` afterwards). */
  async resetHard(ref: string): Promise<void> {
    await this.git("reset", "--quiet", "--hard", ref);
  }

  /** Deletes a branch on the server (`git push origin --delete`). */
  async deleteRemoteBranch(branch: string): Promise<void> {
    await this.#beforeRemote();
    await this.git("push", "--quiet", "origin", "--delete", branch);
  }

  /** The sha of HEAD in the working clone. */
  head(): Promise<string> {
    return this.git("rev-parse", "HEAD");
  }
}
