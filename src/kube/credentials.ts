/**
 * What a connection gets from a login, whichever kind it is (`login.ts` finds it), and the
 * error for a login that cannot be used.
 * @module
 */

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
  /**
   * Auth headers for the next request; cheap to call (cached, renewed when due). Rejects with a
   * `KubeConfigError` when the login has expired and cannot be renewed.
   */
  headers(): Promise<Record<string, string>>;
  /** The API server answered 401 to the headers: renew them before long. */
  rejected(): void;
}

/** No usable Kubernetes login was found, or it cannot be used. */
export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}
