/**
 * Finding and loading the Kubernetes login, in kubectl's order: `KUBECONFIG`, then
 * `~/.kube/config`, then the in-cluster service account. Kubeconfig files, with their many
 * auth forms (exec plugins, token files, client certificates, merged files), are loaded by
 * `@kubernetes/client-node` in a worker that ends once it has signed in
 * (`kubeconfig_login.ts`). The in-cluster login is three files and two variables, read here.
 * @module
 */

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { KubeConfigError, type Login } from "./credentials.ts";
import { kubeconfigLogin } from "./kubeconfig_login.ts";

export { KubeConfigError, type Login } from "./credentials.ts";

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
/** How long the in-cluster token is reused before the file is read again (the kubelet rotates it). */
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
  const reread = () => {
    token = read("token")?.trim() ?? token;
    readAt = performance.now();
  };
  const namespace = read("namespace")?.trim() || undefined;
  return {
    source: "in-cluster service account",
    server: `${scheme}://${hostPart}:${port}`,
    caPem: read("ca.crt"),
    skipTLSVerify: false,
    namespace,
    serviceAccountNamespace: namespace,
    headers() {
      if (performance.now() - readAt > AUTH_TTL_MS) reread();
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      return Promise.resolve(headers);
    },
    rejected() {
      // A token rotated since the last read: read the file again before the next request.
      readAt = -Infinity;
    },
  };
}
