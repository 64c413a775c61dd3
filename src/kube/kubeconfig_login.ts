/**
 * The login of kubeconfig files. `@kubernetes/client-node` reads them and signs in (exec
 * plugins, auth providers, token files, client certificates, merged files), in a worker that
 * answers once and is terminated: importing client-node takes a Deno process from ~35 to
 * ~115 MB, and a router that kept it would keep that for its whole life (BENCHMARKS.md,
 * "Footprint"). The credentials it hands back are used until they expire or the API server
 * answers 401, and then the worker runs again.
 * @module
 */

import path from "node:path";
import { KubeConfigError, type Login } from "./credentials.ts";

/** Asked of the worker: the files to load, and what an auth provider refreshed last time. */
export interface KubeconfigRequest {
  files: string[];
  authProviderConfig?: Record<string, unknown>;
}

/** What a run of the worker signed in with. */
export interface KubeconfigCredentials {
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  skipTLSVerify: boolean;
  namespace?: string;
  /** What client-node would add to each request: Authorization, Impersonate-User. */
  headers: Record<string, string>;
  /** When the credentials stop working (ms since the epoch), when the login says. */
  expiresAt?: number;
  /** The auth provider's config after signing in (refreshed tokens), for the next run. */
  authProviderConfig?: Record<string, unknown>;
}

/** The worker's answer. */
export type KubeconfigReply =
  | { credentials: KubeconfigCredentials }
  | { failure: { stage: "read" | "cluster" | "login"; message: string } };

/** Renewals come at most this often, whatever asks for them (a 401, expired credentials). */
const MIN_RENEW_INTERVAL_MS = 10_000;
/** Credentials are renewed this long before they expire, so no request carries stale ones. */
const EXPIRY_MARGIN_MS = 30_000;

/** Options for {@linkcode kubeconfigLogin}. */
export interface KubeconfigLoginOptions {
  /** The clock (tests). */
  now?: () => number;
}

/** Signs in with the kubeconfig `files` (merged in order, as kubectl does). */
export async function kubeconfigLogin(
  files: string[],
  options: KubeconfigLoginOptions = {},
): Promise<Login> {
  const now = options.now ?? Date.now;
  const source = `kubeconfig ${files.join(path.delimiter)}`;
  let credentials = await signIn(files, source, undefined);
  let signedInAt = now();
  let renewal: Promise<void> | undefined;
  let failure: KubeConfigError | undefined;
  let rejected = false;

  const expired = () => credentials.expiresAt !== undefined && now() >= credentials.expiresAt;
  const due = () =>
    rejected ||
    (credentials.expiresAt !== undefined && now() >= credentials.expiresAt - EXPIRY_MARGIN_MS);
  const renew = async () => {
    try {
      credentials = await signIn(files, source, credentials.authProviderConfig);
      failure = undefined;
    } catch (error) {
      failure = error as KubeConfigError;
    } finally {
      signedInAt = now();
      rejected = false;
    }
  };

  const first = credentials;
  return {
    source,
    server: first.server,
    caPem: first.caPem,
    // The connection's TLS client is made once, with the first sign-in's certificate.
    certPem: first.certPem,
    keyPem: first.keyPem,
    skipTLSVerify: first.skipTLSVerify,
    namespace: first.namespace,
    async headers() {
      if (!renewal && due() && now() - signedInAt >= MIN_RENEW_INTERVAL_MS) {
        renewal = renew().finally(() => (renewal = undefined));
      }
      if (renewal) await renewal;
      // A failed renewal is reported while the old credentials are known to be expired; until
      // then they are still worth trying.
      if (failure && expired()) throw failure;
      return credentials.headers;
    },
    rejected() {
      rejected = true;
    },
  };
}

/** One run of the worker. */
async function signIn(
  files: string[],
  source: string,
  authProviderConfig: Record<string, unknown> | undefined,
): Promise<KubeconfigCredentials> {
  const worker = new Worker(new URL("./kubeconfig_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const reply = await new Promise<KubeconfigReply>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<KubeconfigReply>) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new KubeConfigError(`cannot use the login from ${source}: ${event.message}`));
      };
      worker.postMessage({ files, authProviderConfig } satisfies KubeconfigRequest);
    });
    if ("credentials" in reply) return reply.credentials;
    throw loginError(source, reply.failure);
  } finally {
    worker.terminate();
  }
}

function loginError(
  source: string,
  failure: { stage: "read" | "cluster" | "login"; message: string },
): KubeConfigError {
  const { stage, message } = failure;
  if (stage === "read") return new KubeConfigError(`cannot read the kubeconfig: ${message}`);
  if (stage === "cluster") return new KubeConfigError(`${source} ${message}`);
  const plugin = (/Requires run access to "([^"]+)"/.exec(message) ??
    /spawn (\S+) ENOENT/.exec(message))?.[1];
  if (plugin) {
    // The start command may not run programs, so exec credential plugins cannot work there.
    return new KubeConfigError(
      `${source} signs in by running "${plugin}" (an exec plugin), which the router cannot ` +
        `run (its permissions allow no programs): run it in the cluster with its service ` +
        `account, give it a kubeconfig with a token or client certificate, or try it ` +
        `locally with GITFAAS_APPLY=true deno task dev`,
    );
  }
  return new KubeConfigError(`cannot use the login from ${source}: ${message}`);
}
