/**
 * The connection to the Kubernetes API server. `@kubernetes/client-node` loads the login
 * (kubeconfig, exec and token-file auth, the in-cluster service account). Every request,
 * discovery included, goes through `fetch` with a `Deno.HttpClient` holding the login's CA and
 * client certificate: connections stay alive, and client-node's own HTTP stack (a new TLS
 * connection per request under Deno, and an HTTP/2 client that can bring the process down
 * when the API server closes connections) stays out of the serving path.
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { Discovery } from "./discovery.ts";
import { Limiter } from "./limiter.ts";

/** How a kind is served: its resource name and whether objects live in a namespace. */
export interface ResourceInfo {
  /** Plural resource name used in URLs, such as `jobs`. */
  name: string;
  namespaced: boolean;
}

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
  /** A human description of the login, for the start-up log (never a secret). */
  readonly description: string;
  /**
   * One HTTP request to the API server; `path` starts with `/`. At most KUBE_MAX_INFLIGHT run
   * at once; the rest wait their turn.
   */
  request(method: string, path: string, init?: KubeRequestInit): Promise<KubeResponse>;
  /** Requests waiting for a turn (back-pressure). */
  readonly queued: number;
  /** Discovery: how `kind` of `apiVersion` is served, or undefined when the server lacks it. */
  resource(
    apiVersion: string,
    kind: string,
    signal?: AbortSignal,
  ): Promise<ResourceInfo | undefined>;
  close(): void;
}

/** No usable Kubernetes login was found, or it cannot be used. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

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
  /** Most requests in flight at once (default 32). */
  maxInflight?: number;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long auth headers are reused before asking the login again (token files rotate). */
const AUTH_TTL_MS = 10_000;

/** Loads the login like kubectl does and opens a connection with it. */
export async function connectKube(options: ConnectOptions = {}): Promise<KubeConnection> {
  const env = options.env ?? Deno.env.toObject();
  const kc = new KubeConfig();
  const { source, inClusterNamespace } = loadLogin(kc, options, env);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`${source} names no current cluster`);
  const server = cluster.server.replace(/\/+$/, "");

  // deno-lint-ignore no-explicit-any
  const tls: any = {};
  try {
    await kc.applyToHTTPSOptions(tls);
  } catch (error) {
    const message = (error as Error).message;
    const plugin = (/Requires run access to "([^"]+)"/.exec(message) ??
      /spawn (\S+) ENOENT/.exec(message))?.[1];
    if (plugin) {
      // The start command may not run programs, so exec credential plugins cannot work there.
      throw new KubeConfigError(
        `${source} signs in by running "${plugin}" (an exec plugin), which the router cannot ` +
          `run (its permissions allow no programs): run it in the cluster with its service ` +
          `account, give it a kubeconfig with a token or client certificate, or try it ` +
          `locally with GITFAAS_APPLY=true deno task dev`,
      );
    }
    throw new KubeConfigError(`cannot use the login from ${source}: ${message}`);
  }
  let client: Deno.HttpClient | undefined;
  if (server.startsWith("https:")) {
    if (cluster.skipTLSVerify) {
      throw new KubeConfigError(
        `${source}: insecure-skip-tls-verify is not supported; give the cluster's CA ` +
          `(certificate-authority or certificate-authority-data) instead`,
      );
    }
    // HTTP/1.1 only. Deno's fetch leaves Nagle's algorithm on, and over HTTP/2 it writes a
    // request's HEADERS and DATA frames separately: any body over ~1 KB then waits ~40 ms for the
    // server's delayed ACK (bench/transport.ts measures it). HTTP/1.1 sends head and body in one
    // write; connections are kept alive and pooled, at most KUBE_MAX_INFLIGHT of them.
    const options: Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem> = {
      http2: false,
    };
    if (tls.ca) options.caCerts = [String(tls.ca)];
    if (tls.cert && tls.key) {
      options.cert = String(tls.cert);
      options.key = String(tls.key);
    }
    client = Deno.createHttpClient(options as Deno.CreateHttpClientOptions);
  }

  const context = kc.getContextObject(kc.getCurrentContext());
  const defaultNamespace = options.namespace ?? inClusterNamespace ?? context?.namespace ??
    "default";

  const auth = authHeaders(kc, tls);
  const limiter = new Limiter(options.maxInflight ?? 32);
  const request = (method: string, urlPath: string, init: KubeRequestInit = {}) =>
    limiter.run(async (): Promise<KubeResponse> => {
      const headers = new Headers(await auth());
      headers.set("accept", "application/json");
      if (init.contentType) headers.set("content-type", init.contentType);
      const response = await fetch(server + urlPath, {
        method,
        headers,
        body: init.body,
        signal: init.signal,
        client,
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    }, init.signal);
  const discovery = new Discovery((path, signal) => request("GET", path, { signal }));

  return {
    server,
    defaultNamespace,
    description: `${source}, cluster ${server}, namespace ${defaultNamespace}`,
    get queued() {
      return limiter.queued;
    },
    request,
    resource(apiVersion, kind, signal) {
      return discovery.resource(apiVersion, kind, signal);
    },
    close() {
      client?.close();
    },
  };
}

function loadLogin(
  kc: KubeConfig,
  options: ConnectOptions,
  env: Record<string, string | undefined>,
): { source: string; inClusterNamespace?: string } {
  const prefix = options.serviceAccountPrefix ?? "";
  try {
    if (options.kubeconfig) {
      const files = options.kubeconfig.split(path.delimiter).filter(Boolean);
      kc.loadFromFile(files[0]);
      for (const file of files.slice(1)) {
        const more = new KubeConfig();
        more.loadFromFile(file);
        kc.mergeConfig(more);
      }
      return { source: `kubeconfig ${files.join(path.delimiter)}` };
    }
    const home = env.HOME ?? os.homedir();
    const homeConfig = home ? path.join(home, ".kube", "config") : undefined;
    if (homeConfig && fs.existsSync(homeConfig)) {
      kc.loadFromFile(homeConfig);
      return { source: `kubeconfig ${homeConfig}` };
    }
  } catch (error) {
    throw new KubeConfigError(`cannot read the kubeconfig: ${(error as Error).message}`);
  }
  const tokenFile = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(tokenFile)) {
    // client-node reads the service host and port from the process environment.
    for (const name of ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"]) {
      if (env[name] !== undefined && Deno.env.get(name) !== env[name]) {
        Deno.env.set(name, env[name]!);
      }
    }
    kc.loadFromCluster(prefix);
    let namespace: string | undefined;
    try {
      namespace = fs.readFileSync(`${prefix}${SERVICE_ACCOUNT_DIR}/namespace`, "utf8").trim() ||
        undefined;
    } catch {
      namespace = undefined;
    }
    return { source: "in-cluster service account", inClusterNamespace: namespace };
  }
  throw new KubeConfigError(
    "no Kubernetes login found: set KUBECONFIG, create ~/.kube/config, or run in a cluster " +
      "with a service account",
  );
}

/** Auth headers from the login, reused briefly so the hot path does not redo auth work. */
// deno-lint-ignore no-explicit-any
function authHeaders(kc: KubeConfig, tls: any): () => Promise<Record<string, string>> {
  let cached: Record<string, string> = headersOf(tls);
  let fetchedAt = performance.now();
  return async () => {
    if (performance.now() - fetchedAt > AUTH_TTL_MS) {
      // deno-lint-ignore no-explicit-any
      const fresh: any = {};
      await kc.applyToHTTPSOptions(fresh);
      cached = headersOf(fresh);
      fetchedAt = performance.now();
    }
    return cached;
  };
}

// deno-lint-ignore no-explicit-any
function headersOf(tls: any): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(tls.headers ?? {})) headers[name] = String(value);
  if (tls.auth && !headers.Authorization) headers.Authorization = "Basic " + btoa(tls.auth);
  return headers;
}
