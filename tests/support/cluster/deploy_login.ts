/**
 * deploy/'s ServiceAccount and RBAC in namespaces of a test's own, and the login a pod of it
 * gets: a test that runs routers "as deployed" without the fixed namespaces of deploy/ (so it
 * never meets another test's objects), judged by exactly the Roles deploy/ ships.
 * @module
 */

import { parseAllDocuments } from "yaml";
import { configEnv, deployFile, ROOT } from "../deploy_files.ts";
import type { Cluster } from "./control_plane.ts";
import type { Obj } from "./testing.ts";

/** deploy/'s namespaces, mapped to a test's. */
export interface DeployNamespaces {
  /** Where the router runs (deploy/'s `gitfaas`): its ServiceAccount, Leases, shared ConfigMaps. */
  router: string;
  /** Where topics' objects go (deploy/'s `gitfaas-jobs`, NAMESPACE). */
  jobs: string;
}

/** What {@linkcode installDeployRbac} made. */
export interface DeployLogin {
  /** deploy/'s ServiceAccount name. */
  account: string;
  /** The `system:serviceaccount:…` user the API server sees. */
  user: string;
  /**
   * The environment of a pod of deploy/'s Deployment, outside a cluster: deploy/'s settings,
   * the Deployment's literal values, the in-cluster login under a folder prefix
   * (SERVICE_ACCOUNT_PREFIX) and the downward API's POD_NAMESPACE. Set POD_NAME per replica.
   */
  env: Record<string, string>;
}

/**
 * Applies deploy/'s ServiceAccount, Roles and RoleBindings with their namespaces moved to
 * `namespaces`, and writes a token of the account where the kubelet would mount it, under `dir`.
 */
export async function installDeployRbac(
  cluster: Cluster,
  namespaces: DeployNamespaces,
  options: { dir: string },
): Promise<DeployLogin> {
  const rendered = await cluster.kubectl(["kustomize", "deploy/"], { cwd: ROOT.pathname });
  if (rendered.code !== 0) throw new Error(`kubectl kustomize deploy/: ${rendered.stderr}`);
  const objects: Obj[] = parseAllDocuments(rendered.stdout).map((d) => d.toJS()).filter(Boolean);
  const account = objects.find((o) => o.kind === "ServiceAccount")!;
  const jobsRole = objects.find((o) =>
    o.kind === "Role" &&
    o.rules.some((r: Obj) => r.apiGroups.includes("batch") && r.resources.includes("jobs"))
  )!;
  const moved = new Map([
    [account.metadata.namespace as string, namespaces.router],
    [jobsRole.metadata.namespace as string, namespaces.jobs],
  ]);
  const rbac = objects
    .filter((o) => ["ServiceAccount", "Role", "RoleBinding"].includes(o.kind))
    .map((o) => moveNamespaces(o, moved));
  const applied = await cluster.kubectl(["apply", "-f", "-"], {
    stdin: rbac.map((o) => JSON.stringify(o)).join("\n"),
  });
  if (applied.code !== 0) throw new Error(`applying deploy/'s RBAC: ${applied.stderr}`);

  const name: string = account.metadata.name;
  const token = await cluster.kubectl([
    "-n",
    namespaces.router,
    "create",
    "token",
    name,
    "--duration=1h",
  ]);
  if (token.code !== 0) throw new Error(`kubectl create token: ${token.stderr}`);
  const prefix = `${options.dir}/root`;
  const mount = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
  await Deno.mkdir(mount, { recursive: true });
  await Deno.writeTextFile(`${mount}/token`, token.stdout.trim());
  await Deno.writeTextFile(`${mount}/ca.crt`, cluster.caPem);
  await Deno.writeTextFile(`${mount}/namespace`, namespaces.router);

  const [deployment] = await deployFile("deployment.yaml");
  const literal = deployment.spec.template.spec.containers[0].env
    .filter((e: Obj) => e.value !== undefined).map((e: Obj) => [e.name, e.value]);
  return {
    account: name,
    user: `system:serviceaccount:${namespaces.router}:${name}`,
    env: {
      ...Object.fromEntries((await configEnv()).set),
      ...Object.fromEntries(literal),
      NAMESPACE: namespaces.jobs,
      ROUTER_SERVICE_ACCOUNT: name,
      POD_NAMESPACE: namespaces.router,
      SERVICE_ACCOUNT_PREFIX: prefix,
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: new URL(cluster.server).port,
      // The router listens on loopback outside a pod.
      LISTEN_ADDRESS: "127.0.0.1",
      PORT: "0",
    },
  };
}

/** A copy of `object` whose every `namespace` field found in `moved` takes its new value. */
function moveNamespaces(object: Obj, moved: Map<string, string>): Obj {
  return JSON.parse(
    JSON.stringify(object),
    (key, value) =>
      key === "namespace" && typeof value === "string" ? moved.get(value) ?? value : value,
  );
}
