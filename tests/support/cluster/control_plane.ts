/**
 * A real Kubernetes control plane on loopback, for tests and the sandbox (`deno task cluster`):
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and kwok playing one fake
 * Ready node whose pods run to Succeeded (or Failed, on request), plus a stand-in storage driver
 * (`volumes.ts`) so pods with volume claims are scheduled. Every process runs from the
 * binaries of `binaries.ts`, on free ports, in its own temporary folder; `stop()` ends them all.
 *
 * ```ts
 * const cluster = await startCluster();
 * try {
 *   await cluster.kubectl(["get", "nodes"]);
 * } finally {
 *   await cluster.stop();
 * }
 * ```
 * @module
 */

import { type Binaries, ensureBinaries, kubernetesVersion } from "./binaries.ts";
import { adminKubeconfig, makePki, type Pki } from "./pki.ts";
import { onPath } from "../on_path.ts";
import { runProvisioner } from "./volumes.ts";

/** The fake node's name. */
export const NODE_NAME = "gitfaas-node";

/** Pods with this annotation set to `"true"` fail (exit 1) instead of succeeding. */
export const FAIL_ANNOTATION = "gitfaas.test/fail";

/**
 * The controllers kube-controller-manager runs: what Jobs (and their volumes), Deployments and
 * namespaces need. Left out: node lifecycle (it would taint the fake node, which sends no
 * heartbeats), endpoints and services (no network), certificates.
 */
const CONTROLLERS = [
  "job-controller",
  "ttl-after-finished-controller",
  "garbage-collector-controller",
  "namespace-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller",
  "ephemeral-volume-controller",
  "persistentvolume-binder-controller",
  "persistentvolumeclaim-protection-controller",
  "persistentvolume-protection-controller",
  "deployment-controller",
  "replicaset-controller",
  "cronjob-controller",
  "clusterrole-aggregation-controller",
];

const STAGES = new URL("../../cluster/kwok/stages.yaml", import.meta.url);

/** The control plane did not come up. */
export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

/** What a kubectl run printed. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode startCluster}. */
export interface ClusterOptions {
  /** Where to write the admin kubeconfig too (it is always in the cluster's folder). */
  kubeconfigPath?: string;
  /** Told one line per step (build progress included). */
  progress?: (line: string) => void;
  /** Milliseconds to wait for everything to be ready; default 180 s (2 slow cores). */
  timeoutMs?: number;
}

/** One process of the control plane, its output kept in a log file. */
class ComponentProcess {
  readonly #child: Deno.ChildProcess;
  readonly #logging: Promise<void>;
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;

  constructor(readonly name: string, readonly logPath: string, child: Deno.ChildProcess) {
    this.#child = child;
    this.status = child.status.then((status) => {
      this.exited = true;
      return status;
    });
    this.#logging = (async () => {
      const file = await Deno.open(logPath, { write: true, create: true, append: true });
      const writer = file.writable.getWriter();
      const copy = async (stream: ReadableStream<Uint8Array>) => {
        for await (const chunk of stream) await writer.write(chunk);
      };
      try {
        await Promise.all([copy(child.stdout), copy(child.stderr)]);
      } finally {
        await writer.close().catch(() => undefined);
      }
    })();
  }

  /** SIGTERM, then SIGKILL if it has not ended after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, graceMs);
      await this.status;
      clearTimeout(timer);
    }
    await this.#logging;
  }

  /** The last lines of its log, for an error message. */
  async tail(lines = 30): Promise<string> {
    const text = await Deno.readTextFile(this.logPath).catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }
}

/** What `cluster.json` holds: enough for another process to use the cluster. */
interface Description {
  server: string;
  kubeconfigPath: string;
  version: string;
  dir: string;
  binaries: Binaries;
  pki: Pki;
}

/** An HTTP client that trusts the cluster's CA and logs in as the admin. */
async function adminClient(pki: Pki): Promise<Deno.HttpClient> {
  return Deno.createHttpClient({
    caCerts: [await Deno.readTextFile(pki.caCert)],
    cert: await Deno.readTextFile(pki.adminCert),
    key: await Deno.readTextFile(pki.adminKey),
    http2: false,
  } as Deno.CreateHttpClientOptions);
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the process). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A running control plane. */
export class Cluster {
  /** `https://127.0.0.1:PORT`. */
  readonly server: string;
  /** The admin kubeconfig (client certificate, group system:masters). */
  readonly kubeconfigPath: string;
  /** The Kubernetes release, e.g. `v1.37.2`. */
  readonly version: string;
  /** The temporary folder: certificates, etcd data, one log per component. */
  readonly dir: string;
  /** Paths of the programs. */
  readonly binaries: Binaries;
  /** PEM of the CA that signed the API server's certificate. */
  readonly caPem: string;
  readonly #client: Deno.HttpClient;
  readonly #components: ComponentProcess[] = [];
  /** False for a cluster attached to: another process started it and stops it. */
  readonly #owned: boolean;
  readonly #provisioning = new AbortController();
  #provisioner: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  private constructor(
    init: {
      server: string;
      kubeconfigPath: string;
      version: string;
      dir: string;
      binaries: Binaries;
      caPem: string;
      client: Deno.HttpClient;
      owned: boolean;
    },
  ) {
    this.server = init.server;
    this.kubeconfigPath = init.kubeconfigPath;
    this.version = init.version;
    this.dir = init.dir;
    this.binaries = init.binaries;
    this.caPem = init.caPem;
    this.#client = init.client;
    this.#owned = init.owned;
  }

  /**
   * The cluster another process started (its `cluster.json`, see {@linkcode Cluster.description}):
   * how the test tier shares one control plane between test files.
   */
  static async attach(descriptionPath: string): Promise<Cluster> {
    const description: Description = JSON.parse(await Deno.readTextFile(descriptionPath));
    const caPem = await Deno.readTextFile(description.pki.caCert);
    return new Cluster({
      ...description,
      caPem,
      client: await adminClient(description.pki),
      owned: false,
    });
  }

  /** Where this cluster describes itself for {@linkcode Cluster.attach}. */
  get description(): string {
    return `${this.dir}/cluster.json`;
  }

  /** Builds what is missing, then starts every component and waits until the node is Ready. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const progress = options.progress ?? (() => {});
    if (!onPath("openssl")) throw new ClusterStartError("openssl is needed to make certificates");
    const binaries = await ensureBinaries({ progress });
    const version = await kubernetesVersion();
    const dir = await Deno.makeTempDir({ prefix: "gitfaas-cluster-" });
    await Deno.mkdir(`${dir}/pki`);
    await Deno.mkdir(`${dir}/logs`);
    await Deno.mkdir(`${dir}/home`);
    const pki = await makePki(`${dir}/pki`);
    const apiPort = freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = `${dir}/kubeconfig`;
    const kubeconfig = await adminKubeconfig(pki, server);
    await Deno.writeTextFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
    if (options.kubeconfigPath) {
      await Deno.writeTextFile(options.kubeconfigPath, kubeconfig, { mode: 0o600 });
    }
    const caPem = await Deno.readTextFile(pki.caCert);
    const cluster = new Cluster({
      server,
      kubeconfigPath,
      version,
      dir,
      binaries,
      caPem,
      client: await adminClient(pki),
      owned: true,
    });
    try {
      await cluster.#boot(pki, apiPort, {
        progress,
        deadline: Date.now() + (options.timeoutMs ?? 180_000),
      });
      const description: Description = { server, kubeconfigPath, version, dir, binaries, pki };
      await Deno.writeTextFile(cluster.description, JSON.stringify(description, null, 2));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  async #boot(
    pki: Pki,
    apiPort: number,
    options: { progress: (line: string) => void; deadline: number },
  ): Promise<void> {
    const { progress, deadline } = options;
    const [etcdPort, peerPort] = [freePort(), freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    progress(`starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok…`);
    const etcd = this.#spawn("etcd", [
      "--name=gitfaas-test",
      `--data-dir=${this.dir}/etcd`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=gitfaas-test=http://127.0.0.1:${peerPort}`,
      // A throw-away store: losing it on a crash costs nothing, and fsync costs seconds.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await this.#waitFor("etcd", deadline, async () => {
      const response = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return response !== undefined && (await response.json()).health === "true";
    }, etcd);

    const apiserver = this.#spawn("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${this.dir}/pki`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--service-cluster-ip-range=10.96.0.0/24",
      "--authorization-mode=Node,RBAC",
      // On top of the default set (NamespaceLifecycle, LimitRanger, ServiceAccount, PodSecurity,
      // Priority, DefaultTolerationSeconds, DefaultStorageClass, ResourceQuota, the webhook and
      // policy plugins…), what kubeadm adds.
      "--enable-admission-plugins=NodeRestriction",
      "--allow-privileged=true",
      "--profiling=false",
    ]);
    await this.#waitFor("kube-apiserver", deadline, async () => {
      const response = await this.fetch("/readyz").catch(() => undefined);
      await response?.body?.cancel();
      return response?.status === 200;
    }, apiserver);

    this.#provisioner = runProvisioner((path, init) => this.fetch(path, init), {
      signal: this.#provisioning.signal,
    });
    const kubeconfig = `--kubeconfig=${this.kubeconfigPath}`;
    const controllers = this.#spawn("kube-controller-manager", [
      kubeconfig,
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=false",
      `--controllers=${CONTROLLERS.join(",")}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
    ]);
    const scheduler = this.#spawn("kube-scheduler", [
      kubeconfig,
      "--secure-port=0",
      "--leader-elect=false",
    ]);
    const kwok = this.#spawn("kwok", [
      kubeconfig,
      `--config=${new URL(STAGES).pathname}`,
      `--manage-single-node=${NODE_NAME}`,
      "--cidr=10.244.0.0/16",
      "--node-ip=10.0.0.2",
    ]);
    const node = await this.fetch("/api/v1/nodes", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: NODE_NAME,
          labels: {
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            type: "kwok",
          },
          annotations: { "kwok.x-k8s.io/node": "fake" },
        },
      }),
    });
    if (node.status !== 201) {
      throw new ClusterStartError(`creating the fake node failed: ${await node.text()}`);
    }
    const running = [controllers, scheduler, kwok];
    await this.#waitFor("the fake node to be Ready", deadline, async () => {
      const got = await this.json(`/api/v1/nodes/${NODE_NAME}`);
      // deno-lint-ignore no-explicit-any
      return got.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
    }, ...running);
    // The TaintNodesByCondition admission plugin gave the new node the taint
    // node.kubernetes.io/not-ready, which the node-lifecycle controller lifts once the node is
    // Ready. That controller is not run (it would also want heartbeats), so the launcher lifts it.
    const untainted = await this.fetch(`/api/v1/nodes/${NODE_NAME}`, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { taints: null } }),
    });
    if (untainted.status !== 200) {
      throw new ClusterStartError(`untainting the fake node failed: ${await untainted.text()}`);
    }
    await untainted.body?.cancel();
    // Pods need their namespace's default service account (ServiceAccount admission).
    await this.#waitFor("the default service account", deadline, async () => {
      const response = await this.fetch("/api/v1/namespaces/default/serviceaccounts/default");
      await response.body?.cancel();
      return response.status === 200;
    }, ...running);
  }

  #spawn(name: string, args: string[]): ComponentProcess {
    const program = this.binaries[name];
    // setpriv: the kernel ends the component if this process dies without stopping it.
    const setpriv = onPath("setpriv");
    const child = new Deno.Command(setpriv ?? program, {
      args: setpriv ? ["--pdeathsig", "SIGKILL", "--", program, ...args] : args,
      cwd: this.dir,
      // HOME is the cluster's own, so no ~/.kube or ~/.kwok of the user's is read.
      env: { HOME: `${this.dir}/home`, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const component = new ComponentProcess(name, `${this.dir}/logs/${name}.log`, child);
    this.#components.push(component);
    return component;
  }

  async #waitFor(
    what: string,
    deadline: number,
    ready: () => Promise<boolean>,
    ...watched: ComponentProcess[]
  ): Promise<void> {
    while (true) {
      const exited = watched.find((c) => c.exited);
      if (exited) {
        throw new ClusterStartError(
          `${exited.name} exited at start; the end of ${exited.logPath}:\n${await exited.tail()}`,
        );
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) {
        const tails = await Promise.all(
          watched.map(async (c) => `--- ${c.logPath}\n${await c.tail(15)}`),
        );
        throw new ClusterStartError(`timed out waiting for ${what}\n${tails.join("\n")}`);
      }
      await sleep(200);
    }
  }

  /** A request to the API server as the admin (`path` like `/api/v1/nodes`). */
  fetch(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.server}${path}`, { ...init, client: this.#client } as RequestInit);
  }

  /** A GET whose JSON answer is returned; throws on any status but 200. */
  // deno-lint-ignore no-explicit-any
  async json(path: string): Promise<Record<string, any>> {
    const response = await this.fetch(path);
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text}`);
    return JSON.parse(text);
  }

  /** Runs the built kubectl with the admin kubeconfig (and `stdin`, if given). */
  async kubectl(args: string[], options: { stdin?: string; cwd?: string } = {}): Promise<
    CommandResult
  > {
    const child = new Deno.Command(this.binaries.kubectl, {
      args,
      cwd: options.cwd,
      env: {
        HOME: `${this.dir}/home`,
        KUBECONFIG: this.kubeconfigPath,
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      },
      clearEnv: true,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const output = await child.output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  }

  /**
   * Stops every component and removes the folder; safe to call twice. A cluster attached to is
   * only let go of.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // The clients first (they would log the API server's going), then the API server, then
      // its store.
      const [etcd, apiserver, ...clients] = this.#components;
      this.#provisioning.abort();
      await this.#provisioner;
      await Promise.all(clients.map((component) => component.stop()));
      await apiserver?.stop();
      await etcd?.stop();
      this.#client.close();
      if (this.#owned) await Deno.remove(this.dir, { recursive: true }).catch(() => undefined);
    })();
    return this.#stopping;
  }
}

/** Starts a control plane: see {@linkcode Cluster.start}. */
export function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.start(options);
}
