/**
 * What the cluster tier's tests share: the control plane that `deno task test:cluster` started
 * (found through {@linkcode CLUSTER_ENV}), a fresh namespace per test, and a router process
 * following a real Git server and applying to the real API server.
 * @module
 */

import { Cluster } from "./control_plane.ts";
import { GitServer, type TestRepo } from "../git_server.ts";
import { RouterProcess } from "../router_process.ts";

/** The variable that names the running cluster's `cluster.json`. */
export const CLUSTER_ENV = "GITFAAS_TEST_CLUSTER";

/** A Kubernetes object as JSON. */
// deno-lint-ignore no-explicit-any
export type Obj = Record<string, any>;

/**
 * The cluster of this test run, attached to; `stop()` only lets it go. Tests started outside
 * `deno task test:cluster` fail here, saying how to run them.
 */
export function attachCluster(): Promise<Cluster> {
  const path = Deno.env.get(CLUSTER_ENV);
  if (!path) {
    throw new Error(
      `${CLUSTER_ENV} is not set: run the cluster tier with \`deno task test:cluster [FILE…]\``,
    );
  }
  return Cluster.attach(path);
}

/** Polls `check` every 200 ms until it returns a value other than undefined or false. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Creates a namespace named `<prefix>-<random>` and returns its name. */
export async function createNamespace(cluster: Cluster, prefix: string): Promise<string> {
  const name = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const response = await cluster.fetch("/api/v1/namespaces", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
  });
  if (response.status !== 201) throw new Error(`creating ${name}: ${await response.text()}`);
  await response.body?.cancel();
  // Pods need the namespace's default service account, which a controller creates.
  await eventually(`the default service account of ${name}`, async () => {
    const got = await cluster.fetch(`/api/v1/namespaces/${name}/serviceaccounts/default`);
    await got.body?.cancel();
    return got.status === 200;
  });
  return name;
}

/** Deletes a namespace without waiting: the namespace controller empties it in the background. */
export async function deleteNamespace(cluster: Cluster, name: string): Promise<void> {
  const response = await cluster.fetch(`/api/v1/namespaces/${name}`, { method: "DELETE" });
  await response.body?.cancel();
}

/** The objects of a namespaced list path, e.g. `/apis/batch/v1/namespaces/x/jobs`. */
export async function list(cluster: Cluster, path: string, labelSelector?: string): Promise<Obj[]> {
  const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : "";
  return (await cluster.json(`${path}${query}`)).items as Obj[];
}

/** The object at `path`, or undefined when the API server answers 404. */
export async function getOrNone(cluster: Cluster, path: string): Promise<Obj | undefined> {
  const response = await cluster.fetch(path);
  const text = await response.text();
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** The condition of `type` of an object, if it has one with status True. */
export function trueCondition(object: Obj | undefined, type: string): Obj | undefined {
  return (object?.status?.conditions as Obj[] | undefined)?.find((c) =>
    c.type === type && c.status === "True"
  );
}

/** A router following a test Git repository and applying to the cluster. */
export interface ClusterStack {
  cluster: Cluster;
  /** The namespace objects without one go to (NAMESPACE), made for this stack. */
  namespace: string;
  git: GitServer;
  repo: TestRepo;
  router: RouterProcess;
  /** POSTs to `/publish/<path>` and returns the status and JSON report. */
  publish(
    path: string,
    options?: { body?: string; contentType?: string; idempotencyKey?: string },
  ): Promise<{ status: number; body: Obj }>;
  /** Stops the router and the Git server, deletes the namespace, lets the cluster go. */
  close(): Promise<void>;
}

/**
 * Starts a Git server with a repository of `files` and a router that applies to the cluster as
 * its admin, in a new namespace (`prefix-…`).
 */
export async function startClusterStack(
  prefix: string,
  options: { files: Record<string, string>; env?: Record<string, string> },
): Promise<ClusterStack> {
  const cluster = await attachCluster();
  const namespace = await createNamespace(cluster, prefix);
  const git = await GitServer.start();
  const work = await Deno.makeTempDir({ prefix: "gitfaas-cluster-stack-" });
  let router: RouterProcess | undefined;
  const close = async () => {
    await router?.stop();
    await git.close();
    await deleteNamespace(cluster, namespace);
    await cluster.stop();
    await Deno.remove(work, { recursive: true }).catch(() => undefined);
  };
  try {
    const repo = await git.createRepo("pipelines", { files: options.files });
    router = await RouterProcess.start({
      GIT_URL: git.repoUrl("pipelines"),
      GIT_USER_NAME: git.user,
      GIT_PERSONAL_TOKEN: git.token,
      KUBECONFIG: cluster.kubeconfigPath,
      NAMESPACE: namespace,
      DATA_DIR: `${work}/data`,
      GIT_POLL_INTERVAL: "3600",
      ...options.env,
    });
    const running = router;
    await running.waitFor(async () => (await running.call("/readyz")).status === 200);
    return {
      cluster,
      namespace,
      git,
      repo,
      router: running,
      async publish(path, publishOptions = {}) {
        const headers: Record<string, string> = {
          "content-type": publishOptions.contentType ?? "text/plain",
        };
        if (publishOptions.idempotencyKey) {
          headers["idempotency-key"] = publishOptions.idempotencyKey;
        }
        const { status, body } = await running.call(`/publish/${path}`, {
          method: "POST",
          body: publishOptions.body ?? "",
          headers,
        });
        return { status, body };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
