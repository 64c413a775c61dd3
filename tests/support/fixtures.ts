/**
 * Shared set-ups for end-to-end tests: a Git server with a pipeline repository, a Kubernetes
 * API simulator with a kubeconfig, and a router process connected to both; and the manifest
 * templates several tests publish.
 * @module
 */

import { GitServer, type GitServerOptions, type TestRepo } from "./git_server.ts";
import { KubeSim, type KubeSimOptions } from "./kube_sim/mod.ts";
import { RouterProcess } from "./router_process.ts";

/** A Job template that shows every built-in value in its environment. */
export const ECHO_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: echo-{{RANDOM}}
spec:
  ttlSecondsAfterFinished: 600
  backoffLimit: 2
  parallelism: {{replicas}}
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: echo
          image: busybox
          env:
            - name: MESSAGE
              value: "{{MESSAGE}}"
            - name: REQUEST_UUID
              value: "{{REQUEST_UUID}}"
            - name: TOPIC
              value: "{{TOPIC}}"
            - name: FUNCTION_UID
              value: "{{FUNCTION_UID}}"
            - name: GREETING
              value: "{{greeting}}"
`;

/** A ConfigMap holding the message, under a fresh name per publish. */
export const INPUT_CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: input-{{RANDOM}}
data:
  message: "{{MESSAGE}}"
  requestUuid: "{{REQUEST_UUID}}"
`;

/**
 * A Job written with `generateName`: created, never updated, under a name derived from the
 * request (`convert-` and five characters).
 */
export const CONVERT_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: convert-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: convert
          image: busybox
          env:
            - { name: FUNCTION_UID, value: "{{FUNCTION_UID}}" }
            - { name: MESSAGE, value: "{{MESSAGE}}" }
`;

/** A repository config with the given topics (name → manifest paths). */
export function configJson(topics: Record<string, string[]>): string {
  return JSON.stringify({
    topics: Object.entries(topics).map(([name, configs]) => ({ name, configs })),
  });
}

/**
 * Files of a pipeline repository with `size` manifests, one topic per manifest, 100 files per
 * folder (benchmarks of large repositories).
 */
export function manyManifests(size: number): Record<string, string> {
  const files: Record<string, string> = {};
  const topics: Record<string, string[]> = {};
  for (let i = 0; i < size; i++) {
    const path = `jobs/${Math.floor(i / 100)}/job-${i}.yaml`;
    files[path] = ECHO_JOB.replace("echo-{{RANDOM}}", `job-${i}-{{RANDOM}}`);
    topics[`t${i}`] = [path];
  }
  files["config.json"] = configJson(topics);
  return files;
}

/** Everything an end-to-end test talks to. */
export interface Stack {
  git: GitServer;
  repo: TestRepo;
  kube: KubeSim;
  router: RouterProcess;
  kubeconfigPath: string;
  dataDir: string;
  /** The environment the router was started with, for starting it again. */
  env: Record<string, string>;
  /** Stops the router and the servers. */
  close(): Promise<void>;
}

/** Options for {@linkcode startStack}. */
export interface StackOptions {
  files?: Record<string, string>;
  env?: Record<string, string>;
  kube?: KubeSimOptions;
  /** Extra namespaces to create in the simulator. */
  namespaces?: string[];
  /** Options of the Git server (for example a protocol v0 server). */
  git?: GitServerOptions;
}

/** Starts a Git server with a repository of `files`, a simulator, and the router. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const git = await GitServer.start(options.git);
  const kube = await KubeSim.start({ tls: true, ...options.kube });
  for (const ns of options.namespaces ?? []) kube.addNamespace(ns);
  const files = options.files ?? {
    "config.json": configJson({ echo: ["echo.yaml"] }),
    "echo.yaml": ECHO_JOB,
  };
  const repo = await git.createRepo("pipelines", { files });
  const work = await Deno.makeTempDir({ prefix: "gitfaas-e2e-" });
  const kubeconfigPath = `${work}/kubeconfig`;
  await kube.writeKubeconfig(kubeconfigPath);
  const dataDir = `${work}/data`;
  const env = {
    GIT_URL: git.repoUrl("pipelines"),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: git.token,
    KUBECONFIG: kubeconfigPath,
    DATA_DIR: dataDir,
    GIT_POLL_INTERVAL: "3600",
    ...options.env,
  };
  let router: RouterProcess;
  try {
    router = await RouterProcess.start(env);
  } catch (error) {
    await kube.close();
    await git.close();
    throw error;
  }
  await router.waitFor(async () => {
    const response = await router.fetch("/readyz");
    await response.body?.cancel();
    return response.status === 200;
  });
  return {
    git,
    repo,
    kube,
    router,
    kubeconfigPath,
    dataDir,
    env,
    async close() {
      await router.stop();
      await kube.close();
      await git.close();
      await Deno.remove(work, { recursive: true }).catch(() => undefined);
    },
  };
}

/** Decodes a base64 string to bytes. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The value of env var `name` in the first container of a Job. */
export function jobEnv(job: Record<string, unknown>, name: string): string | undefined {
  // deno-lint-ignore no-explicit-any
  const spec = (job as any).spec.template.spec;
  return (spec.containers[0].env as { name: string; value?: string }[])
    .find((e) => e.name === name)?.value;
}
