/**
 * Runs the real `git http-backend` CGI program for one HTTP request and
 * streams its output back, so the test server speaks exactly the smart-HTTP
 * protocol that git itself serves (v0/v1 and v2, gzip request bodies,
 * receive-pack).
 *
 * @module
 */

/** Everything the CGI needs to know about one request. */
export interface CgiRequest {
  /** Environment of the process (already hermetic; CGI variables are added to it). */
  env: Record<string, string>;
  /** Directory holding the bare repositories (`GIT_PROJECT_ROOT`). */
  projectRoot: string;
  /** HTTP method. */
  method: string;
  /** Decoded URL path, e.g. `/demo.git/info/refs`. */
  pathInfo: string;
  /** Query string without the leading `?`. */
  query: string;
  /** Request headers. */
  headers: Headers;
  /** Request body, streamed to the process' stdin. */
  body: ReadableStream<Uint8Array> | null;
  /** Authenticated user name (`REMOTE_USER`). */
  remoteUser: string;
  /** Client address (`REMOTE_ADDR`). */
  remoteAddr: string;
}

/** What the CGI answered; the body streams while the process still runs. */
export interface CgiResponse {
  /** HTTP status from the CGI `Status:` header (200 when absent). */
  status: number;
  /** Reason phrase from the CGI `Status:` header. */
  statusText: string;
  /** Response headers other than `Status:`. */
  headers: Headers;
  /**
   * The rest of the CGI's stdout. Cancelling it kills the process, which is
   * what must happen when the HTTP client goes away mid-response.
   */
  body: ReadableStream<Uint8Array>;
  /** Settles once the process has exited and its pipes are drained. */
  finished: Promise<CgiExit>;
}

/** How the CGI process ended. */
export interface CgiExit {
  /** Exit code (non-zero when killed). */
  code: number;
  /** What the process wrote to stderr, for diagnosing failures. */
  stderr: string;
}

/** Finds the blank line that ends the CGI headers (CRLF or bare LF). */
function headerEnd(buffer: Uint8Array): { at: number; skip: number } | null {
  for (let i = 0; i < buffer.length - 1; i++) {
    if (buffer[i] !== 0x0a) continue;
    if (buffer[i + 1] === 0x0a) return { at: i, skip: 2 };
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return { at: i, skip: 3 };
  }
  return null;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Builds the CGI/1.1 meta-variables that `git http-backend` reads. */
function cgiEnv(request: CgiRequest): Record<string, string> {
  const env: Record<string, string> = {
    ...request.env,
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    SERVER_SOFTWARE: "gitfaas-test-git-server",
    GIT_PROJECT_ROOT: request.projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    // Negotiation bodies of big fetches exceed the 10 MB default buffer.
    GIT_HTTP_MAX_REQUEST_BUFFER: "512M",
    PATH_INFO: request.pathInfo,
    REQUEST_METHOD: request.method,
    QUERY_STRING: request.query,
    REMOTE_USER: request.remoteUser,
    REMOTE_ADDR: request.remoteAddr,
  };
  const headers = request.headers;
  const contentType = headers.get("content-type");
  if (contentType !== null) env.CONTENT_TYPE = contentType;
  // Chunked uploads have no length; http-backend then reads stdin to EOF.
  const contentLength = headers.get("content-length");
  if (contentLength !== null) env.CONTENT_LENGTH = contentLength;
  const encoding = headers.get("content-encoding");
  if (encoding !== null) env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = headers.get("git-protocol");
  if (protocol !== null) env.HTTP_GIT_PROTOCOL = protocol;
  return env;
}

/**
 * Spawns `git http-backend` for one request, feeds it the request body and
 * resolves once the CGI headers are complete.
 */
export async function runHttpBackend(request: CgiRequest): Promise<CgiResponse> {
  const child = new Deno.Command("git", {
    args: ["http-backend"],
    env: cgiEnv(request),
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  };

  // A client that aborts its upload, or a CGI that exits without reading
  // everything, only ends this pipe; the exit status tells the real story.
  const stdinDone = request.body
    ? request.body.pipeTo(child.stdin).catch(() => {})
    : child.stdin.close().catch(() => {});
  const stderr = new Response(child.stderr).text().catch(() => "");
  const finished = Promise.all([child.status, stdinDone, stderr]).then(
    ([status, , text]) => ({ code: status.code, stderr: text }),
  );

  const reader = child.stdout.getReader();
  let buffer: Uint8Array = new Uint8Array(0);
  let end: { at: number; skip: number } | null = null;
  try {
    while ((end = headerEnd(buffer)) === null) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer = concat(buffer, value);
    }
  } catch (error) {
    kill();
    await reader.cancel().catch(() => {});
    await finished;
    throw error;
  }
  if (end === null) {
    // The CGI died before finishing its headers: a gateway error by definition.
    reader.releaseLock();
    const exit = await finished;
    const text = `git http-backend produced no response (exit ${exit.code})\n${exit.stderr}`;
    return {
      status: 502,
      statusText: "Bad Gateway",
      headers: new Headers({ "content-type": "text/plain; charset=utf-8" }),
      body: ReadableStream.from([new TextEncoder().encode(text)]),
      finished,
    };
  }

  let status = 200;
  let statusText = "OK";
  const headers = new Headers();
  const head = new TextDecoder().decode(buffer.subarray(0, end.at));
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const match = /^(\d{3})\s*(.*)$/.exec(value);
      if (match) {
        status = Number(match[1]);
        statusText = match[2];
      }
    } else {
      headers.append(name, value);
    }
  }

  let pending: Uint8Array | null = buffer.subarray(end.at + end.skip);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== null) {
        const chunk = pending;
        pending = null;
        if (chunk.length > 0) {
          controller.enqueue(chunk);
          return;
        }
      }
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        kill();
        controller.error(error);
      }
    },
    async cancel() {
      kill();
      await reader.cancel().catch(() => {});
    },
  });
  return { status, statusText, headers, body, finished };
}
