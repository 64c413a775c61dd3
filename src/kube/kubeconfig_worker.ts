/**
 * The worker side of {@linkcode kubeconfigLogin}: loads the kubeconfig files with
 * `@kubernetes/client-node`, signs in the way client-node does (exec plugins, auth providers,
 * token files, client certificates), and posts back plain credentials. It answers one request
 * and is then terminated, so client-node's code and heap never stay in the router's process.
 * @module
 */

/// <reference lib="deno.worker" />

import { KubeConfig, type User } from "@kubernetes/client-node";
import type { KubeconfigReply, KubeconfigRequest } from "./kubeconfig_login.ts";

// deno-lint-ignore no-explicit-any
type HttpsOptions = any;

self.onmessage = async (event: MessageEvent<KubeconfigRequest>) => {
  self.postMessage(await signIn(event.data));
};

async function signIn(request: KubeconfigRequest): Promise<KubeconfigReply> {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(request.files[0]);
    for (const file of request.files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  } catch (error) {
    return { failure: { stage: "read", message: (error as Error).message } };
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return { failure: { stage: "cluster", message: "names no current cluster" } };
  const user = kc.getCurrentUser();
  // An auth provider keeps what it refreshed (OIDC's tokens, a cached access token) in its
  // config; the previous run's copy is given back, as one long-lived KubeConfig would keep it.
  if (user?.authProvider && request.authProviderConfig) {
    user.authProvider.config = request.authProviderConfig;
  }
  const tls: HttpsOptions = {};
  try {
    await kc.applyToHTTPSOptions(tls);
  } catch (error) {
    return { failure: { stage: "login", message: (error as Error).message } };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(tls.headers ?? {})) headers[name] = String(value);
  if (tls.auth && !headers.Authorization) headers.Authorization = "Basic " + btoa(tls.auth);
  return {
    credentials: {
      server: cluster.server.replace(/\/+$/, ""),
      caPem: tls.ca ? String(tls.ca) : undefined,
      certPem: tls.cert ? String(tls.cert) : undefined,
      keyPem: tls.key ? String(tls.key) : undefined,
      skipTLSVerify: !!cluster.skipTLSVerify,
      namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
      headers,
      expiresAt: expiry(kc, user, headers),
      authProviderConfig: user?.authProvider?.config,
    },
  };
}

/**
 * When the credentials stop working, if anything says so: an exec plugin's
 * `expirationTimestamp`, an auth provider's `expiry` or `expires-on`, or the `exp` of a bearer
 * token that is a JWT (OIDC id tokens, service account tokens).
 */
function expiry(
  kc: KubeConfig,
  user: User | null,
  headers: Record<string, string>,
): number | undefined {
  const times: number[] = [];
  // client-node keeps an exec plugin's credential in its ExecAuth, the authenticator with a
  // tokenCache (a private field: client-node is pinned, and a test reads it back).
  const authenticators = (kc as unknown as { authenticators?: unknown[] }).authenticators ?? [];
  for (const authenticator of authenticators) {
    const cache = (authenticator as { tokenCache?: Record<string, unknown> }).tokenCache;
    const credential = user && cache?.[user.name] as
      | { status?: { expirationTimestamp?: string } }
      | undefined;
    const stamp = credential?.status?.expirationTimestamp;
    if (stamp) times.push(Date.parse(stamp));
  }
  const config = user?.authProvider?.config ?? {};
  if (typeof config.expiry === "string") times.push(Date.parse(config.expiry));
  if (config["expires-on"]) times.push(Number(config["expires-on"]) * 1000);
  const jwt = /^Bearer ([\w-]+)\.([\w-]+)\.[\w-]*$/.exec(headers.Authorization ?? "");
  if (jwt) {
    try {
      const claims = JSON.parse(atob(jwt[2].replace(/-/g, "+").replace(/_/g, "/")));
      if (typeof claims.exp === "number") times.push(claims.exp * 1000);
    } catch {
      // Not a JWT after all: nothing to learn from it.
    }
  }
  const known = times.filter(Number.isFinite);
  return known.length > 0 ? Math.min(...known) : undefined;
}
