/**
 * Finding and loading the Kubernetes login, in kubectl's order: `KUBECONFIG`, then
 * `~/.kube/config`, then the in-cluster service account. Kubeconfig files, with their many
 * auth forms (exec plugins, token files, client certificates, merged files), are loaded by
 * `@kubernetes/client-node`, imported only when one is used. The in-cluster login is three
 * files and two variables, read here: importing client-node costs a router most of its memory
 * (BENCHMARKS.md, "Footprint"), which a router in a pod should not pay for what it does not use.
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";

/** What a connection needs from a login. */
export interface Login {
  /** Where it came from, for messages (never a secret). */
  source: string;
  /** API server URL without a trailing slash. */
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  skipTLSVerify: boolean;
  /** The login's own namespace (the service account's, or the kubeconfig context's). */
  namespace?: string;
  /** In a cluster: the namespace of the service account the process runs as. */
  serviceAccountNamespace?: string;
  /** Auth headers for the next request; cheap to call (cached, refreshed when due). */
  headers(): Promise<Record<string, string>>;
}

/** No usable Kubernetes login was found, or it cannot be used. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

/** Where to look for the login. */
export interface LoginOptions {
  /** KUBECONFIG: one or more paths separated by `:`. */
  kubeconfig?: string;
  /** Prefix before `/var/run/secrets/kubernetes.io/serviceaccount`. */
  serviceAccountPrefix?: string;
  /** Environment to read HOME and `KUBERNETES_SERVICE_HOST`/`PORT` from. */
  env: Record<string, string | undefined>;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** How long auth headers are reused before asking the login again (token files rotate). */
const AUTH_TTL_MS = 10_000;

/** Loads the login like kubectl does. */
export async function loadLogin(options: LoginOptions): Promise<Login> {
  const { env } = options;
  const files = options.kubeconfig?.split(path.delimiter).filter(Boolean) ?? [];
  if (files.length === 0) {
    const home = env.HOME ?? os.homedir();
    const homeConfig = home ? path.join(home, ".kube", "config") : undefined;
    if (homeConfig && fs.existsSync(homeConfig)) files.push(homeConfig);
  }
  if (files.length > 0) return await kubeconfigLogin(files);

  const dir = `${options.serviceAccountPrefix ?? ""}${SERVICE_ACCOUNT_DIR}`;
  if (env.KUBERNETES_SERVICE_HOST && fs.existsSync(`${dir}/token`)) {
    return inClusterLogin(dir, env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT);
  }
  throw new KubeConfigError(
    "no Kubernetes login found: set KUBECONFIG, create ~/.kube/config, or run in a cluster " +
      "with a service account",
  );
}

function inClusterLogin(dir: string, host: string, port = "443"): Login {
  // As client-go does: plain HTTP only on the insecure ports, IPv6 addresses in brackets.
  const scheme = ["80", "8080", "8001"].includes(port) ? "http" : "https";
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const read = (name: string) => {
    try {
      return fs.readFileSync(`${dir}/${name}`, "utf8");
    } catch {
      return undefined;
    }
  };
  // The kubelet rotates projected tokens; read the file again when the cached one is old.
  let token = read("token")?.trim();
  let readAt = performance.now();
  const namespace = read("namespace")?.trim() || undefined;
  return {
    source: "in-cluster service account",
    server: `${scheme}://${hostPart}:${port}`,
    caPem: read("ca.crt"),
    skipTLSVerify: false,
    namespace,
    serviceAccountNamespace: namespace,
    headers() {
      if (performance.now() - readAt > AUTH_TTL_MS) {
        token = read("token")?.trim() ?? token;
        readAt = performance.now();
      }
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return Promise.resolve(headers);
    },
  };
}

async function kubeconfigLogin(files: string[]): Promise<Login> {
  const source = `kubeconfig ${files.join(path.delimiter)}`;
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(files[0]);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  } catch (error) {
    throw new KubeConfigError(`cannot read the kubeconfig: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`${source} names no current cluster`);
  const tls = await httpsOptions(kc, source);
  return {
    source,
    server: cluster.server.replace(/\/+$/, ""),
    caPem: tls.ca ? String(tls.ca) : undefined,
    certPem: tls.cert ? String(tls.cert) : undefined,
    keyPem: tls.key ? String(tls.key) : undefined,
    skipTLSVerify: !!cluster.skipTLSVerify,
    namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
    headers: cachedHeaders(kc, tls),
  };
}

// deno-lint-ignore no-explicit-any
type HttpsOptions = any;

async function httpsOptions(kc: KubeConfig, source: string): Promise<HttpsOptions> {
  const tls: HttpsOptions = {};
  try {
    await kc.applyToHTTPSOptions(tls);
    return tls;
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
        { cause: error },
      );
    }
    throw new KubeConfigError(`cannot use the login from ${source}: ${message}`, { cause: error });
  }
}

/** Auth headers from client-node, reused briefly so the hot path does not redo auth work. */
function cachedHeaders(
  kc: KubeConfig,
  first: HttpsOptions,
): () => Promise<Record<string, string>> {
  let cached = headersOf(first);
  let fetchedAt = performance.now();
  return async () => {
    if (performance.now() - fetchedAt > AUTH_TTL_MS) {
      const fresh: HttpsOptions = {};
      await kc.applyToHTTPSOptions(fresh);
      cached = headersOf(fresh);
      fetchedAt = performance.now();
    }
    return cached;
  };
}

function headersOf(tls: HttpsOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(tls.headers ?? {})) headers[name] = String(value);
  if (tls.auth && !headers.Authorization) headers.Authorization = "Basic " + btoa(tls.auth);
  return headers;
}
