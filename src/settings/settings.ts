/**
 * Reads the router's settings from environment variables, checking every value at start so a
 * typo stops the process with one line instead of misbehaving later.
 * @module
 */

import { LOG_LEVELS, type LogLevel } from "../log/logger.ts";
import {
  DEFAULT_DENIED_KINDS,
  type KindRule,
  parseKindList,
  type Policy,
  PolicySyntaxError,
} from "../policy/policy.ts";

/** Everything the router is configured with. */
export interface Settings {
  /** Repository URL without credentials (in development, the folder served as a file: URL). */
  gitUrl: string;
  /** Development: serve this folder's working tree instead of a Git remote. */
  sourceDir?: string;
  /**
   * `apply` to the cluster, or `render` only: the render-only mode of development, which needs no
   * cluster and applies nothing (not to be confused with a publish's `?dryRun=true`, a
   * server-side dry run the API server performs).
   */
  applyMode: "apply" | "render";
  gitUser?: string;
  gitToken?: string;
  gitBranch: string;
  configPath: string;
  /** GIT_POLL_INTERVAL; 0 turns polling off. Every duration here is in milliseconds. */
  pollIntervalMs: number;
  /** Namespace set on objects that name none; undefined means "decide from the cluster login". */
  namespace?: string;
  /** Address the HTTP server binds: loopback unless told otherwise (the image sets 0.0.0.0). */
  listenAddress: string;
  port: number;
  /** Clone cache; undefined means a fresh temporary directory. */
  dataDir?: string;
  kubeconfig?: string;
  maxBodyBytes: number;
  /** Secret of signed push webhooks; undefined turns `POST /webhook/git` off. */
  webhookSecret?: string;
  /** Largest webhook delivery accepted. */
  webhookMaxBytes: number;
  /** Filesystem prefix before `/var/run/secrets/kubernetes.io/serviceaccount` (tests, sandboxes). */
  serviceAccountPrefix: string;
  /** The router's own ServiceAccount: no object may run as it (it can read the router's Secret). */
  routerServiceAccount: string;
  logLevel: LogLevel;
  /** LOG_FLUSH_INTERVAL: how long an info or debug line may wait to be written with others. */
  logFlushMs: number;
  /** Bearer token required on /publish, /render, /refresh, /status and /topics; none: open. */
  publishToken?: string;
  deniedKinds: KindRule[];
  /** Namespaces objects may go to; undefined means the effective NAMESPACE alone. */
  allowedNamespaces?: string[] | "*";
  allowedClusterKinds: KindRule[];
  maxQueryParams: number;
  maxQueryValueBytes: number;
  maxManifestsPerTopic: number;
  maxObjectsPerPublish: number;
  publishTimeoutMs: number;
  kubeTimeoutMs: number;
  kubeMaxInflight: number;
  kubeMaxQueue: number;
  shutdownGraceMs: number;
  /** Deadline for one request to the Git server. */
  gitTimeoutMs: number;
  /** Signs `{{REQUEST_TOKEN}}`; falls back to PUBLISH_TOKEN; neither: tokens are off. */
  requestTokenSecret?: string;
  /** How long a request token stays valid. */
  requestTokenTtlMs: number;
  /** Largest result a step may post. */
  maxResultBytes: number;
  /** This replica's name (POD_NAME, from the downward API); unset: host name and pid. */
  podName?: string;
  /** The namespace of the replicas' shared objects (POD_NAMESPACE); unset: NAMESPACE's. */
  podNamespace?: string;
  /** Most callers held by `?wait` at once. */
  maxWaiters: number;
  /** Cap on one fetch from Git: the bytes downloaded, and what its objects inflate to. */
  gitMaxFetchBytes: number;
  /** Cap on the inflated size of any one object (file) a fetched commit holds. */
  gitMaxBlobBytes: number;
  /** Time a client has to send a request's headers, once it starts one. */
  headerTimeoutMs: number;
  /** Time a client has to send a request's body, once its headers are in. */
  bodyTimeoutMs: number;
  /** Time a kept-alive connection may stay idle between requests. */
  idleTimeoutMs: number;
  /** Most connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /**
   * Most bytes of request bodies held at once (being received, or held by publishes waiting for
   * the API server); a body that does not fit is refused with 503 before it is read.
   */
  maxBodyBytesInFlight: number;
}

/**
 * The value of each setting whose variable is unset, in the unit `Settings` holds it in (the
 * README's configuration table lists the same, in the variables' units). The one place defaults
 * live: components take their values from `Settings` and have no fallbacks of their own.
 */
export const DEFAULTS = {
  gitBranch: "main",
  configPath: "config.json",
  pollIntervalMs: 60_000,
  port: 5000,
  /** Loopback: the router answers anyone who reaches it; the image sets 0.0.0.0. */
  listenAddress: "127.0.0.1",
  /** The ServiceAccount deploy/ runs the router as. */
  routerServiceAccount: "gitfaas",
  maxBodyBytes: 1024 * 1024,
  webhookMaxBytes: 1024 * 1024,
  logLevel: "info",
  logFlushMs: 5,
  deniedKinds: DEFAULT_DENIED_KINDS,
  allowedClusterKinds: "none",
  maxQueryParams: 64,
  maxQueryValueBytes: 4096,
  maxManifestsPerTopic: 50,
  maxObjectsPerPublish: 100,
  publishTimeoutMs: 30_000,
  kubeTimeoutMs: 10_000,
  kubeMaxInflight: 32,
  kubeMaxQueue: 1000,
  shutdownGraceMs: 20_000,
  gitTimeoutMs: 30_000,
  requestTokenTtlMs: 86_400_000,
  maxResultBytes: 512 * 1024,
  maxWaiters: 256,
  // Well inside the Deployment's 512 MiB memory limit, inflating included.
  gitMaxFetchBytes: 64 * 2 ** 20,
  gitMaxBlobBytes: 16 * 2 ** 20,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  /** Longer than the 60 s of common proxies' pools (ingress-nginx, cloud load balancers). */
  idleTimeoutMs: 75_000,
  maxConnections: 1024,
  maxBodyBytesInFlight: 16 * 1024 * 1024,
} as const;

/** A setting that is missing or malformed; its message is the one line shown to the user. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

type Env = Record<string, string | undefined>;

/**
 * Every environment variable the router reads, and no other. `main.ts` reads exactly these
 * ({@linkcode readEnv}), the start command grants exactly these (`--allow-env=…` in deno.json
 * and the Dockerfile), and `deploy/` sets or documents them; `tests/permissions_test.ts` and
 * `tests/deploy_test.ts` keep the four in step. A new setting goes in all four.
 */
export const ENV_NAMES: readonly string[] = [
  // readSettings
  "GIT_URL",
  "GIT_USER_NAME",
  "GIT_PERSONAL_TOKEN",
  "GIT_BRANCH",
  "CONFIG_PATH",
  "GIT_POLL_INTERVAL",
  "GIT_TIMEOUT",
  "GIT_MAX_FETCH_BYTES",
  "GIT_MAX_BLOB_BYTES",
  "NAMESPACE",
  "PORT",
  "LISTEN_ADDRESS",
  "DATA_DIR",
  "KUBECONFIG",
  "SERVICE_ACCOUNT_PREFIX",
  "ROUTER_SERVICE_ACCOUNT",
  "MAX_BODY_BYTES",
  "LOG_LEVEL",
  "LOG_FLUSH_INTERVAL",
  "WEBHOOK_SECRET",
  "WEBHOOK_MAX_BYTES",
  "PUBLISH_TOKEN",
  "DENIED_KINDS",
  "ALLOWED_NAMESPACES",
  "ALLOWED_CLUSTER_KINDS",
  "MAX_QUERY_PARAMS",
  "MAX_QUERY_VALUE_BYTES",
  "MAX_MANIFESTS_PER_TOPIC",
  "MAX_OBJECTS_PER_PUBLISH",
  "PUBLISH_TIMEOUT",
  "KUBE_TIMEOUT",
  "KUBE_MAX_INFLIGHT",
  "KUBE_MAX_QUEUE",
  "SHUTDOWN_GRACE",
  "GITFAAS_APPLY",
  "REQUEST_TOKEN_SECRET",
  "REQUEST_TOKEN_TTL",
  "MAX_RESULT_BYTES",
  "MAX_WAITERS",
  "HEADER_TIMEOUT",
  "BODY_TIMEOUT",
  "IDLE_TIMEOUT",
  "MAX_CONNECTIONS",
  "MAX_BODY_BYTES_IN_FLIGHT",
  // the replica's identity (the downward API in deploy/)
  "POD_NAME",
  "POD_NAMESPACE",
  // the Kubernetes login: ~/.kube/config, and the in-cluster API server (src/kube/login.ts)
  "HOME",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
];

/**
 * Reads the named variables from the process environment. Unlike `Deno.env.toObject()`, this
 * works when the process may read only these names (`--allow-env=NAME,…`). A name the process
 * may not read stops it with one line saying so, instead of reading as unset.
 */
export function readEnv(names: readonly string[]): Env {
  const env: Env = {};
  for (const name of names) {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      throw new SettingsError(
        `${name} may not be read: add it to --allow-env in the start command (deno.json, Dockerfile)`,
      );
    }
    env[name] = Deno.env.get(name);
  }
  return env;
}

/**
 * Stops at start when the process may not write DATA_DIR (a folder outside the start command's
 * `--allow-write`), instead of failing every sync afterwards.
 */
export function checkDataDir(settings: Pick<Settings, "dataDir">): void {
  const dir = settings.dataDir;
  if (dir === undefined) return;
  if (Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") {
    throw new SettingsError(
      `DATA_DIR must be a folder the process may write (--allow-write in the start command), got "${dir}"`,
    );
  }
}

/**
 * Stops at start when the folder `deno task dev` should serve is missing or not a folder,
 * instead of listening first and failing when the watcher starts.
 */
export function checkSourceDir(settings: Pick<Settings, "sourceDir">): void {
  const dir = settings.sourceDir;
  if (dir === undefined) return;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new SettingsError(
        `no folder "${dir}" to serve: give the pipeline repository's folder`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  if (!info.isDirectory) {
    throw new SettingsError(
      `"${dir}" is a file, not a folder: give the folder that holds config.json`,
    );
  }
}

/** The user name sent with a token when GIT_USER_NAME is not set. */
export const TOKEN_USER = "x-access-token";

/** Options for {@linkcode readSettings}. */
export interface ReadOptions {
  /** Development: serve this folder (GIT_URL is then not needed). */
  sourceDir?: string;
}

/** Parses settings from an environment map (usually `Deno.env.toObject()`). */
export function readSettings(env: Env, options: ReadOptions = {}): Settings {
  const dev = options.sourceDir !== undefined;
  const { url, user, token } = dev
    ? {
      url: new URL(options.sourceDir!, `file://${Deno.cwd()}/`).href,
      user: undefined,
      token: undefined,
    }
    : splitCredentials(required(env, "GIT_URL"));
  const gitToken = optional(env, "GIT_PERSONAL_TOKEN") ?? token;
  return {
    gitUrl: url,
    sourceDir: options.sourceDir,
    applyMode: dev && !flag(env, "GITFAAS_APPLY") ? "render" : "apply",
    // A token alone needs some user name beside it; GitHub and GitLab accept any non-empty one.
    gitUser: optional(env, "GIT_USER_NAME") ?? user ?? (gitToken ? TOKEN_USER : undefined),
    gitToken,
    gitBranch: branchName(env),
    configPath: repoPath(env, "CONFIG_PATH", DEFAULTS.configPath),
    pollIntervalMs: seconds(env, "GIT_POLL_INTERVAL", DEFAULTS.pollIntervalMs, { min: 0 }),
    namespace: namespaceName(env),
    listenAddress: listenAddress(env),
    port: number(env, "PORT", DEFAULTS.port, { min: 0, max: 65535, integer: true }),
    dataDir: optional(env, "DATA_DIR"),
    kubeconfig: optional(env, "KUBECONFIG"),
    maxBodyBytes: number(env, "MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, { min: 1, integer: true }),
    webhookSecret: optional(env, "WEBHOOK_SECRET"),
    webhookMaxBytes: number(env, "WEBHOOK_MAX_BYTES", DEFAULTS.webhookMaxBytes, {
      min: 1,
      integer: true,
    }),
    serviceAccountPrefix: optional(env, "SERVICE_ACCOUNT_PREFIX") ?? "",
    routerServiceAccount: serviceAccountName(env),
    logLevel: logLevel(env),
    logFlushMs: seconds(env, "LOG_FLUSH_INTERVAL", DEFAULTS.logFlushMs, { min: 0, max: 1 }),
    publishToken: optional(env, "PUBLISH_TOKEN"),
    podName: optional(env, "POD_NAME"),
    podNamespace: optional(env, "POD_NAMESPACE"),
    deniedKinds: kindList(env, "DENIED_KINDS", DEFAULTS.deniedKinds),
    allowedNamespaces: namespaceList(env, "ALLOWED_NAMESPACES"),
    allowedClusterKinds: kindList(env, "ALLOWED_CLUSTER_KINDS", DEFAULTS.allowedClusterKinds),
    maxQueryParams: number(env, "MAX_QUERY_PARAMS", DEFAULTS.maxQueryParams, {
      min: 0,
      integer: true,
    }),
    maxQueryValueBytes: number(env, "MAX_QUERY_VALUE_BYTES", DEFAULTS.maxQueryValueBytes, {
      min: 1,
      integer: true,
    }),
    maxManifestsPerTopic: number(env, "MAX_MANIFESTS_PER_TOPIC", DEFAULTS.maxManifestsPerTopic, {
      min: 1,
      integer: true,
    }),
    maxObjectsPerPublish: number(env, "MAX_OBJECTS_PER_PUBLISH", DEFAULTS.maxObjectsPerPublish, {
      min: 1,
      integer: true,
    }),
    publishTimeoutMs: seconds(env, "PUBLISH_TIMEOUT", DEFAULTS.publishTimeoutMs, { min: 0.1 }),
    kubeTimeoutMs: seconds(env, "KUBE_TIMEOUT", DEFAULTS.kubeTimeoutMs, { min: 0.1 }),
    kubeMaxInflight: number(env, "KUBE_MAX_INFLIGHT", DEFAULTS.kubeMaxInflight, {
      min: 1,
      integer: true,
    }),
    kubeMaxQueue: number(env, "KUBE_MAX_QUEUE", DEFAULTS.kubeMaxQueue, { min: 0, integer: true }),
    shutdownGraceMs: seconds(env, "SHUTDOWN_GRACE", DEFAULTS.shutdownGraceMs, { min: 0 }),
    gitTimeoutMs: seconds(env, "GIT_TIMEOUT", DEFAULTS.gitTimeoutMs, { min: 0.1 }),
    requestTokenSecret: optional(env, "REQUEST_TOKEN_SECRET"),
    requestTokenTtlMs: seconds(env, "REQUEST_TOKEN_TTL", DEFAULTS.requestTokenTtlMs, { min: 60 }),
    // A Secret holds at most 1 MiB, and base64 makes the result a third larger.
    maxResultBytes: number(env, "MAX_RESULT_BYTES", DEFAULTS.maxResultBytes, {
      min: 1,
      max: 768 * 1024,
      integer: true,
    }),
    maxWaiters: number(env, "MAX_WAITERS", DEFAULTS.maxWaiters, { min: 0, integer: true }),
    gitMaxFetchBytes: number(env, "GIT_MAX_FETCH_BYTES", DEFAULTS.gitMaxFetchBytes, {
      min: 1024,
      integer: true,
    }),
    gitMaxBlobBytes: number(env, "GIT_MAX_BLOB_BYTES", DEFAULTS.gitMaxBlobBytes, {
      min: 1024,
      integer: true,
    }),
    headerTimeoutMs: seconds(env, "HEADER_TIMEOUT", DEFAULTS.headerTimeoutMs, { min: 0.1 }),
    bodyTimeoutMs: seconds(env, "BODY_TIMEOUT", DEFAULTS.bodyTimeoutMs, { min: 0.1 }),
    idleTimeoutMs: seconds(env, "IDLE_TIMEOUT", DEFAULTS.idleTimeoutMs, { min: 0.1 }),
    maxConnections: number(env, "MAX_CONNECTIONS", DEFAULTS.maxConnections, {
      min: 1,
      integer: true,
    }),
    maxBodyBytesInFlight: bytesInFlight(env),
  };
}

/** Options for {@linkcode settingsPolicy}. */
export interface PolicyOptions {
  /** The namespace the router runs in, when known (in a cluster): its Secret lives there. */
  routerNamespace?: string;
}

/**
 * The policy the settings describe; `namespace` is the effective default namespace (from
 * NAMESPACE or the cluster login), the only one allowed when ALLOWED_NAMESPACES is unset.
 */
export function settingsPolicy(
  settings: Pick<
    Settings,
    "deniedKinds" | "allowedClusterKinds" | "allowedNamespaces" | "routerServiceAccount"
  >,
  namespace: string,
  options: PolicyOptions = {},
): Policy {
  const namespaces = settings.allowedNamespaces ?? [namespace];
  return {
    deniedKinds: settings.deniedKinds,
    allowedClusterKinds: settings.allowedClusterKinds,
    allowedNamespaces: namespaces === "*" ? "*" : new Set(namespaces),
    router: { serviceAccount: settings.routerServiceAccount, namespace: options.routerNamespace },
  };
}

/** MAX_BODY_BYTES_IN_FLIGHT: room for at least one body of MAX_BODY_BYTES. */
function bytesInFlight(env: Env): number {
  const value = number(env, "MAX_BODY_BYTES_IN_FLIGHT", DEFAULTS.maxBodyBytesInFlight, {
    min: 1,
    integer: true,
  });
  const maxBody = number(env, "MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, { min: 1, integer: true });
  if (value < maxBody) {
    throw new SettingsError(
      `MAX_BODY_BYTES_IN_FLIGHT must be at least MAX_BODY_BYTES (${maxBody}), or no body of the largest size could ever be accepted; got "${value}"`,
    );
  }
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === undefined) {
    throw new SettingsError(`${name} is required: the HTTP(S) URL of the Git repository to follow`);
  }
  return value;
}

/** Accepts credentials embedded in the URL but never keeps them there, so the URL can be logged. */
function splitCredentials(raw: string): { url: string; user?: string; token?: string } {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new SettingsError(`GIT_URL must be an http:// or https:// URL, got "${redactUrl(raw)}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new SettingsError(
      `GIT_URL must be an http:// or https:// URL, got the scheme "${parsed.protocol}"`,
    );
  }
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const token = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  parsed.username = "";
  parsed.password = "";
  return { url: parsed.toString(), user, token };
}

function redactUrl(raw: string): string {
  return raw.replace(/\/\/[^/@]*@/, "//***@");
}

function branchName(env: Env): string {
  const branch = optional(env, "GIT_BRANCH") ?? DEFAULTS.gitBranch;
  const ok = /^[^\s~^:?*[\\]+$/.test(branch) && !branch.includes("..") &&
    !branch.startsWith("/") && !branch.endsWith("/") && !branch.startsWith("refs/");
  if (!ok) {
    throw new SettingsError(`GIT_BRANCH must be a branch name such as "main", got "${branch}"`);
  }
  return branch;
}

function repoPath(env: Env, name: string, fallback: string): string {
  const value = (optional(env, name) ?? fallback).replace(/^\.\//, "");
  const parts = value.split("/");
  if (value.startsWith("/") || parts.some((p) => p === ".." || p === "." || p === "")) {
    throw new SettingsError(
      `${name} must be a relative path inside the repository such as "config.json", got "${value}"`,
    );
  }
  return value;
}

function number(
  env: Env,
  name: string,
  fallback: number,
  limits: { min?: number; max?: number; integer?: boolean },
): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const bad = !/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value) ||
    (limits.integer && !Number.isInteger(value)) ||
    (limits.min !== undefined && value < limits.min) ||
    (limits.max !== undefined && value > limits.max);
  if (bad) {
    const kind = limits.integer ? "a whole number" : "a number";
    const range = limits.max !== undefined
      ? ` from ${limits.min} to ${limits.max}`
      : limits.min !== undefined
      ? ` of at least ${limits.min}`
      : "";
    throw new SettingsError(`${name} must be ${kind}${range}, got "${raw}"`);
  }
  return value;
}

/** A duration given in seconds (fractions allowed), held in milliseconds. */
function seconds(
  env: Env,
  name: string,
  fallbackMs: number,
  limits: { min: number; max?: number },
): number {
  const value = number(env, name, fallbackMs / 1000, limits);
  return Math.round(value * 1000);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function serviceAccountName(env: Env): string {
  const value = optional(env, "ROUTER_SERVICE_ACCOUNT") ?? DEFAULTS.routerServiceAccount;
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    throw new SettingsError(
      `ROUTER_SERVICE_ACCOUNT must be a ServiceAccount name (lowercase letters, digits, '-' and '.'), got "${value}"`,
    );
  }
  return value;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IP address to bind: IPv4, IPv6 (`::` for every interface) or `localhost`. */
function listenAddress(env: Env): string {
  const value = optional(env, "LISTEN_ADDRESS") ?? DEFAULTS.listenAddress;
  const ipv6 = value.includes(":") && URL.canParse(`http://[${value}]/`);
  if (!IPV4.test(value) && !ipv6 && value !== "localhost") {
    throw new SettingsError(
      `LISTEN_ADDRESS must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, got "${value}"`,
    );
  }
  return value;
}

function namespaceName(env: Env): string | undefined {
  const value = optional(env, "NAMESPACE");
  if (value !== undefined && !DNS_LABEL.test(value)) {
    throw new SettingsError(
      `NAMESPACE must be a Kubernetes namespace name (lowercase letters, digits and '-', at most 63), got "${value}"`,
    );
  }
  return value;
}

function flag(env: Env, name: string): boolean {
  const value = optional(env, name)?.toLowerCase();
  if (value === undefined || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw new SettingsError(`${name} must be true or false, got "${value}"`);
}

function kindList(env: Env, name: string, fallback: string): KindRule[] {
  try {
    return parseKindList(optional(env, name) ?? fallback);
  } catch (error) {
    if (error instanceof PolicySyntaxError) {
      throw new SettingsError(`${name}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function namespaceList(env: Env, name: string): string[] | "*" | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  if (value === "*") return "*";
  const names = value.split(",").map((n) => n.trim()).filter(Boolean);
  const bad = names.find((n) => !DNS_LABEL.test(n));
  if (bad !== undefined || names.length === 0) {
    throw new SettingsError(
      `${name} must be "*" or a comma-separated list of namespace names, got "${value}"`,
    );
  }
  return names;
}

function logLevel(env: Env): LogLevel {
  const value = (optional(env, "LOG_LEVEL") ?? DEFAULTS.logLevel).toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new SettingsError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
  }
  return value as LogLevel;
}
