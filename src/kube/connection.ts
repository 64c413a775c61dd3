/**
 * The connection to the Kubernetes API server, on the login `login.ts` loads. Every request,
 * discovery included, goes through `fetch` with a `Deno.HttpClient` holding the login's CA and
 * client certificate: connections stay alive, and client-node's own HTTP stack (a new TLS
 * connection per request under Deno, and an HTTP/2 client that can bring the process down
 * when the API server closes connections) stays out of the serving path.
 * @module
 */

import { Discovery, type ResourceInfo } from "./discovery.ts";
import { isAbort, transportError } from "./errors.ts";
import { KubeConfigError, loadLogin } from "./login.ts";
import { Limiter } from "../lib/async.ts";

export type { ResourceInfo } from "./discovery.ts";

/** Options for {@linkcode KubeConnection.request}. */
export interface KubeRequestInit {
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

/** An API server answer, read in full. */
export interface KubeResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** The narrow interface the rest of the router uses to reach the API server. */
export interface KubeConnection {
  /** API server URL without a trailing slash. */
  readonly server: string;
  /** Namespace for objects that name none, from the login when NAMESPACE is not set. */
  readonly defaultNamespace: string;
  /** In a cluster: the namespace the router runs in, where its own Secret lives. */
  readonly serviceAccountNamespace?: string;
  /** A human description of the login, for the start-up log (never a secret). */
  readonly description: string;
  /**
   * One HTTP request to the API server; `path` starts with `/`. At most KUBE_MAX_INFLIGHT run
   * at once; the rest wait their turn. Rejects with a `KubeApiError` (`Unreachable`, `Timeout`)
   * when no answer came; any other rejection is a bug.
   */
  request(method: string, path: string, init?: KubeRequestInit): Promise<KubeResponse>;
  /**
   * A GET whose answer is read as it arrives (watches). Not counted against KUBE_MAX_INFLIGHT:
   * a watch holds its connection for minutes and must not take a publish's turn.
   */
  stream(path: string, init?: { signal?: AbortSignal }): Promise<Response>;
  /** Requests waiting for a turn (back-pressure). */
  readonly queued: number;
  /**
   * Discovery: how `kind` of `apiVersion` is served, or undefined when the server lacks it.
   * Rejects with a `KubeApiError`, like {@linkcode KubeConnection.request}.
   */
  resource(
    apiVersion: string,
    kind: string,
    signal?: AbortSignal,
  ): Promise<ResourceInfo | undefined>;
  close(): void;
}

export { KubeConfigError } from "./credentials.ts";

/** Where to find the login. */
export interface ConnectOptions {
  /** KUBECONFIG: one or more paths separated by `:`. */
  kubeconfig?: string;
  /** Prefix before `/var/run/secrets/kubernetes.io/serviceaccount`. */
  serviceAccountPrefix?: string;
  /** NAMESPACE, when set. */
  namespace?: string;
  /** Environment to read `KUBERNETES_SERVICE_HOST`/`PORT` from (defaults to the process's). */
  env?: Record<string, string | undefined>;
  /** Most requests in flight at once (KUBE_MAX_INFLIGHT). */
  maxInflight: number;
}

/** Sets `name` in `headers` as `Headers.set` would: replacing any spelling of the name. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) delete headers[key];
  }
  headers[name] = value;
}

/** Loads the login like kubectl does and opens a connection with it. */
export async function connectKube(options: ConnectOptions): Promise<KubeConnection> {
  const login = await loadLogin({
    kubeconfig: options.kubeconfig,
    serviceAccountPrefix: options.serviceAccountPrefix,
    env: options.env ?? Deno.env.toObject(),
  });
  const { server, source } = login;
  let client: Deno.HttpClient | undefined;
  if (server.startsWith("https:")) {
    if (login.skipTLSVerify) {
      throw new KubeConfigError(
        `${source}: insecure-skip-tls-verify is not supported; give the cluster's CA ` +
          `(certificate-authority or certificate-authority-data) instead`,
      );
    }
    // HTTP/1.1 only. Deno's fetch leaves Nagle's algorithm on, and over HTTP/2 it writes a
    // request's HEADERS and DATA frames separately: all but the smallest bodies then wait for
    // the server's delayed ACK (BENCHMARKS.md, "One API request by body size"). HTTP/1.1 sends
    // head and body in one write; connections are kept alive and pooled, at most
    // KUBE_MAX_INFLIGHT of them.
    const options: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {
      http2: false,
    };
    if (login.caPem) options.caCerts = [login.caPem];
    if (login.certPem && login.keyPem) {
      options.cert = login.certPem;
      options.key = login.keyPem;
    }
    client = Deno.createHttpClient(options as Deno.CreateHttpClientOptions);
  }

  const defaultNamespace = options.namespace ?? login.namespace ?? "default";

  const limiter = new Limiter(options.maxInflight);
  const send = async (method: string, urlPath: string, init: KubeRequestInit) => {
    // A plain record: fetch checks and copies it once (a Headers object would be twice).
    const headers: Record<string, string> = { ...await login.headers() };
    setHeader(headers, "accept", "application/json");
    if (init.contentType) setHeader(headers, "content-type", init.contentType);
    const response = await fetch(server + urlPath, {
      method,
      headers,
      body: init.body,
      signal: init.signal,
      client,
    });
    if (response.status === 401) login.rejected();
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  // The one place where a failure to get an answer (fetch's TypeError, the deadline's abort,
  // a login that cannot give headers) becomes a KubeApiError the publish can report.
  const request = (method: string, urlPath: string, init: KubeRequestInit = {}) =>
    limiter.run(() => send(method, urlPath, init), init.signal).catch((error) => {
      throw transportError(error, server);
    });
  const stream = async (urlPath: string, init: { signal?: AbortSignal } = {}) => {
    try {
      const headers = new Headers(await login.headers());
      headers.set("accept", "application/json");
      const response = await fetch(server + urlPath, { headers, signal: init.signal, client });
      if (response.status === 401) login.rejected();
      return response;
    } catch (error) {
      throw transportError(error, server);
    }
  };
  const discovery = new Discovery((path, signal) => request("GET", path, { signal }));

  return {
    server,
    defaultNamespace,
    serviceAccountNamespace: login.serviceAccountNamespace,
    description: `${source}, cluster ${server}, namespace ${defaultNamespace}`,
    get queued() {
      return limiter.queued;
    },
    request,
    stream,
    resource(apiVersion, kind, signal) {
      return discovery.resource(apiVersion, kind, signal).catch((error) => {
        // Requests are translated already; what is left is the deadline ending a wait.
        throw isAbort(error) ? transportError(error, server) : error;
      });
    },
    close() {
      client?.close();
    },
  };
}
