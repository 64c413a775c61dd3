/**
 * `deploy/`, the kustomize base, against the router it installs: it renders with the real
 * kubectl and applies cleanly to the API simulator; the Deployment sets exactly the variables
 * the router reads, probes the router's own port and paths, and runs the image as its
 * unprivileged user; and the Role allows every API call a running router makes, and no more.
 * The tests that need kubectl are skipped, saying so, where it is missing.
 */

import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { onPath } from "./support/on_path.ts";
import {
  configEnv,
  deployFile,
  kubectl,
  kustomization,
  type Manifest,
  permissionFlags,
  readDockerfile,
  renderBase,
  ROOT,
  startCommand,
} from "./support/deploy_files.ts";
import { ECHO_JOB } from "./support/fixtures.ts";
import { GitServer } from "./support/git_server.ts";
import { KubeSim, type SimRequest } from "./support/kube_sim/mod.ts";
import { RouterProcess } from "./support/router_process.ts";
import { ENV_NAMES, readSettings } from "../src/settings/settings.ts";
import { DEFAULT_NAMESPACE } from "../src/validate/cli.ts";
import { parseAllDocuments } from "yaml";

const hasKubectl = onPath("kubectl") !== undefined;
if (!hasKubectl) {
  console.warn("kubectl is not on PATH: skipping the tests that render and apply deploy/");
}

/** Variables the router reads that an install must not set, and why. */
const NOT_SET_IN_A_CLUSTER: Record<string, string> = {
  KUBECONFIG: "the pod logs in with its service account",
  SERVICE_ACCOUNT_PREFIX: "for tests and sandboxes only",
  GITFAAS_APPLY: "development mode only (deno task dev)",
  HOME: "set by the container runtime",
  KUBERNETES_SERVICE_HOST: "set by the kubelet",
  KUBERNETES_SERVICE_PORT: "set by the kubelet",
};

/** The secrets the Deployment reads from gitfaas-secrets, and whether each may be missing. */
const SECRETS: Record<string, boolean> = {
  GIT_PERSONAL_TOKEN: false,
  WEBHOOK_SECRET: true,
  PUBLISH_TOKEN: true,
  REQUEST_TOKEN_SECRET: true,
};

async function routerContainer(): Promise<{ deployment: Manifest; container: Manifest }> {
  const [deployment] = await deployFile("deployment.yaml");
  return { deployment, container: deployment.spec.template.spec.containers[0] };
}

/** A folder for kubectl's HOME and cache, removed afterwards. */
async function withHome<T>(run: (home: string) => Promise<T>): Promise<T> {
  const home = await Deno.makeTempDir({ prefix: "gitfaas-kubectl-" });
  try {
    return await run(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test({
  name: "kubectl kustomize deploy/ renders the router in gitfaas and its grants in gitfaas-jobs",
  ignore: !hasKubectl,
  fn: () =>
    withHome(async (home) => {
      const objects = await renderBase(home);
      const where = objects.map((o) => `${o.kind} ${o.metadata.namespace ?? "-"}`).sort();
      assertEquals(where, [
        "ConfigMap gitfaas",
        "Deployment gitfaas",
        "Namespace -",
        "Namespace -",
        "PodDisruptionBudget gitfaas",
        "Role gitfaas",
        "Role gitfaas-jobs",
        "RoleBinding gitfaas",
        "RoleBinding gitfaas-jobs",
        "Service gitfaas",
        "ServiceAccount gitfaas",
      ]);
      // The Role where the Jobs go (the router's own namespace has only the replicas' Role).
      const byKind = Object.fromEntries(
        objects.filter((o) => o.metadata.namespace !== "gitfaas" || !/^Role/.test(o.kind))
          .map((o) => [o.kind, o]),
      );
      const namespaces = objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name);
      assertEquals(namespaces.sort(), ["gitfaas", "gitfaas-jobs"]);
      // No credentials in the base: the Secret is created by hand (secret.example.yaml).
      assertEquals(objects.some((o) => o.kind === "Secret"), false);
      const configMap = byKind.ConfigMap.metadata.name;
      assertMatch(configMap, /^gitfaas-config-[a-z0-9]+$/);
      const container = byKind.Deployment.spec.template.spec.containers[0];
      assertEquals(container.envFrom, [{ configMapRef: { name: configMap } }]);
      assertEquals(byKind.RoleBinding.subjects, [
        { kind: "ServiceAccount", name: "gitfaas", namespace: "gitfaas" },
      ]);
      assertEquals(byKind.RoleBinding.roleRef.name, byKind.Role.metadata.name);
    }),
});

Deno.test({
  name: "the README's overlay for Flux and Argo CD renders with its own GIT_URL",
  ignore: !hasKubectl,
  fn: () =>
    withHome(async (home) => {
      const readme = await Deno.readTextFile(new URL("README.md", ROOT));
      const section = readme.slice(readme.indexOf("**Managed by Flux or Argo CD.**"));
      const overlay = section.match(/```yaml\n([\s\S]*?)```/)?.[1];
      assert(overlay, "the README shows an overlay");
      const dir = `${home}/overlay`;
      await Deno.mkdir(`${dir}/site`, { recursive: true });
      // The same base, from a local copy instead of the repository's URL.
      await Deno.mkdir(`${dir}/deploy`);
      for await (const entry of Deno.readDir(new URL("deploy/", ROOT))) {
        await Deno.copyFile(new URL(`deploy/${entry.name}`, ROOT), `${dir}/deploy/${entry.name}`);
      }
      const text = overlay.replace(/^(\s*)- <this repository>\S*$/m, "$1- ../deploy");
      assert(text !== overlay, "the overlay's resource is the repository's deploy/");
      await Deno.writeTextFile(`${dir}/site/kustomization.yaml`, text);
      const run = await kubectl(["kustomize", `${dir}/site`], home);
      assertEquals(run.code, 0, run.stderr);
      const objects = parseAllDocuments(run.stdout).map((d) => d.toJS());
      const configMap = objects.find((o) => o.kind === "ConfigMap");
      assertEquals(configMap.data.GIT_URL, "https://git.example.com/team/pipelines.git");
      assertEquals(configMap.data.NAMESPACE, "gitfaas-jobs");
      const deployment = objects.find((o) => o.kind === "Deployment");
      assertEquals(deployment.spec.template.spec.containers[0].envFrom, [
        { configMapRef: { name: configMap.metadata.name } },
      ]);
    }),
});

Deno.test("pipeline authors cannot reach the router's Secret: Jobs and grants are elsewhere", async () => {
  const [deployment] = await deployFile("deployment.yaml");
  const routerNamespace = deployment.metadata.namespace;
  const [example] = await deployFile("secret.example.yaml");
  assertEquals(example.metadata.namespace, routerNamespace, "the Secret is next to the router");

  // Objects that name no namespace go to NAMESPACE, and only there (ALLOWED_NAMESPACES).
  const config = await configEnv();
  const jobs = config.set.get("NAMESPACE");
  assertEquals(jobs, "gitfaas-jobs");
  assertEquals(jobs, DEFAULT_NAMESPACE, "validate's default namespace is deploy/'s");
  const settings = readSettings(Object.fromEntries(config.set));
  assertEquals(settings.allowedNamespaces ?? [settings.namespace], [jobs]);
  assert(routerNamespace !== jobs);

  // The Role and its binding live there, for the router's own account; nothing else is granted.
  const [role] = await deployFile("role.yaml");
  const [binding] = await deployFile("rolebinding.yaml");
  const [account] = await deployFile("serviceaccount.yaml");
  assertEquals([role.metadata.namespace, binding.metadata.namespace], [jobs, jobs]);
  assertEquals(binding.subjects, [
    { kind: "ServiceAccount", name: account.metadata.name, namespace: routerNamespace },
  ]);
  assertEquals(account.metadata.namespace, routerNamespace);
  const resources = (await kustomization()).resources as string[];
  const granting = [];
  for (const file of resources) {
    for (const object of await deployFile(file)) {
      if (/^(Cluster)?Role(Binding)?$/.test(object.kind)) granting.push(`${file} ${object.kind}`);
    }
  }
  assertEquals(granting.sort(), [
    "role-replicas.yaml Role",
    "role-replicas.yaml RoleBinding",
    "role.yaml Role",
    "rolebinding.yaml RoleBinding",
  ]);
  // In the router's own namespace, only the replicas' shared objects: never its Secret.
  const [replicasRole] = await deployFile("role-replicas.yaml");
  assertEquals(replicasRole.metadata.namespace, routerNamespace);
  assertEquals(
    replicasRole.rules.flatMap((r: Manifest) => r.resources).sort(),
    ["configmaps", "configmaps", "leases"],
  );

  // The policy knows the router's account from the pod itself.
  const env = deployment.spec.template.spec.containers[0].env;
  const routerAccount = env.find((e: Manifest) => e.name === "ROUTER_SERVICE_ACCOUNT");
  assertEquals(routerAccount.valueFrom, { fieldRef: { fieldPath: "spec.serviceAccountName" } });
  assertEquals(deployment.spec.template.spec.serviceAccountName, account.metadata.name);
});

Deno.test({
  name: "the base and the example Secret apply cleanly to the API simulator with kubectl",
  ignore: !hasKubectl,
  fn: () =>
    withHome(async (home) => {
      const sim = await KubeSim.start();
      try {
        await sim.writeKubeconfig(`${home}/kubeconfig`);
        const run = async (...args: string[]) => {
          const result = await kubectl(
            [`--kubeconfig=${home}/kubeconfig`, `--cache-dir=${home}/cache`, ...args],
            home,
          );
          assertEquals(result.code, 0, `kubectl ${args.join(" ")}:\n${result.stderr}`);
          return result.stdout;
        };
        // The install command, twice (an upgrade with nothing new), then server-side.
        const first = await run("apply", "-k", "deploy/");
        assertMatch(first, /namespace\/gitfaas created/);
        assertMatch(first, /deployment\.apps\/gitfaas created/);
        await run("apply", "-k", "deploy/");
        await run("apply", "--server-side", "-k", "deploy/");
        await run("apply", "-f", "deploy/secret.example.yaml");
        const failed = sim.requests.filter((r) => r.status >= 400 && r.status !== 404);
        assertEquals(failed.map((r) => `${r.method} ${r.path} ${r.status}`), []);

        for (const object of await renderBase(home)) {
          const stored = sim.getObject(
            object.apiVersion,
            object.kind,
            object.metadata.namespace,
            object.metadata.name,
          );
          assert(stored, `${object.kind} ${object.metadata.name} is in the cluster`);
          if (object.kind === "Deployment") {
            assertEquals(stored.spec.template.spec, {
              ...stored.spec.template.spec,
              ...object.spec.template.spec,
            });
          }
        }
        const secret = sim.getObject("v1", "Secret", "gitfaas", "gitfaas-secrets")!;
        assertEquals(Object.keys(secret.data).sort(), Object.keys(SECRETS).sort());
      } finally {
        await sim.close();
      }
    }),
});

Deno.test("the Deployment sets exactly the variables the router reads", async () => {
  const { container } = await routerContainer();
  const config = await configEnv();
  const fromEnv: string[] = container.env.map((e: Manifest) => e.name);
  const fromConfig = [...config.set.keys(), ...config.optional];
  const named = [...fromEnv, ...fromConfig];

  assertEquals(new Set(named).size, named.length, "each variable in one place only");
  assertEquals(
    named.filter((n) => !ENV_NAMES.includes(n)),
    [],
    "set, but the router never reads it",
  );
  assertEquals(
    named.filter((n) => n in NOT_SET_IN_A_CLUSTER),
    [],
    "set, but must not be in a cluster",
  );
  assertEquals(
    ENV_NAMES.filter((n) => !named.includes(n) && !(n in NOT_SET_IN_A_CLUSTER)),
    [],
    "read by the router but missing from deploy/: add it to config.env (commented out when " +
      "the default suits a cluster), to deployment.yaml, or to NOT_SET_IN_A_CLUSTER here",
  );
  assert(config.set.get("GIT_URL"), "config.env sets GIT_URL, the one required setting");
  readSettings(Object.fromEntries(config.set)); // every value set there is valid

  // Secrets come from gitfaas-secrets, each under its own name; only the Git token is required.
  const secretRefs = Object.fromEntries(
    container.env.filter((e: Manifest) => e.valueFrom?.secretKeyRef).map((e: Manifest) => {
      const ref = e.valueFrom.secretKeyRef;
      assertEquals(ref.name, "gitfaas-secrets", e.name);
      assertEquals(ref.key, e.name);
      return [e.name, ref.optional ?? false];
    }),
  );
  assertEquals(secretRefs, SECRETS);
  const [example] = await deployFile("secret.example.yaml");
  assertEquals([example.kind, example.metadata.name], ["Secret", "gitfaas-secrets"]);
  assertEquals(Object.keys(example.stringData).sort(), Object.keys(SECRETS).sort());
  assertEquals((await kustomization()).resources.includes("secret.example.yaml"), false);

  assertEquals(container.envFrom, [{ configMapRef: { name: "gitfaas-config" } }]);
  assertEquals((await kustomization()).configMapGenerator, [
    { name: "gitfaas-config", namespace: "gitfaas", envs: ["config.env"] },
  ]);
});

Deno.test("the pod probes the router's port and paths and runs the image as built", async () => {
  const { deployment, container } = await routerContainer();
  const pod = deployment.spec.template.spec;
  const env = Object.fromEntries(container.env.map((e: Manifest) => [e.name, e.value]));
  const dockerfile = await readDockerfile();

  // Port: the router's default, the container's, the image's and the Service's.
  const port = readSettings({ GIT_URL: "https://git.example.com/p.git" }).port;
  assertEquals(port, 5000);
  assertEquals(env.PORT, String(port));
  assertEquals(container.ports, [{ name: "http", containerPort: port }]);
  assertEquals(dockerfile.expose, [String(port)]);
  const [service] = await deployFile("service.yaml");
  assertEquals(service.spec.ports, [{ name: "http", port, targetPort: "http" }]);
  assertEquals(service.spec.selector, deployment.spec.selector.matchLabels);
  assertEquals(pod.metadata, undefined);
  assertEquals(deployment.spec.template.metadata.labels, deployment.spec.selector.matchLabels);
  assertEquals(container.livenessProbe.httpGet, { path: "/healthz", port: "http" });
  assertEquals(container.readinessProbe.httpGet, { path: "/readyz", port: "http" });

  // Every interface, as in the image: the kubelet's probes and the Service come from outside.
  assertEquals(env.LISTEN_ADDRESS, "0.0.0.0");
  assertEquals(env.LISTEN_ADDRESS, dockerfile.env.LISTEN_ADDRESS);

  // DATA_DIR: the image's, an emptyDir mounted there, and inside what the command may write.
  assertEquals(env.DATA_DIR, dockerfile.env.DATA_DIR);
  const mount = container.volumeMounts.find((m: Manifest) => m.mountPath === env.DATA_DIR);
  assert(mount, "a volume is mounted at DATA_DIR");
  const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
  assert(volume.emptyDir, "DATA_DIR is an emptyDir");
  const writable = String(permissionFlags(await startCommand()).get("--allow-write")).split(",");
  assert(writable.includes(env.DATA_DIR));

  // The image: this version's tag, its own command (with its Deno permissions), its user.
  const { version } = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  assertEquals(container.image, `ghcr.io/gitfaas/gitfaas:${version}`);
  assertEquals([container.command, container.args], [undefined, undefined]);
  assertEquals(dockerfile.user, "1993:1993");
  assertEquals(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1993,
    runAsGroup: 1993,
    fsGroup: 1993,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assertEquals(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
  });
  for (const kind of ["requests", "limits"]) {
    assert(container.resources[kind].cpu && container.resources[kind].memory, kind);
  }

  // The in-cluster login: the service account's token, and no kubeconfig anywhere.
  const [account] = await deployFile("serviceaccount.yaml");
  const [binding] = await deployFile("rolebinding.yaml");
  assertEquals(pod.serviceAccountName, account.metadata.name);
  assertEquals(binding.subjects, [
    { kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace },
  ]);
  assertEquals(pod.automountServiceAccountToken, true);
  assertEquals(pod.volumes.filter((v: Manifest) => !v.emptyDir), []);
  assertEquals(pod.enableServiceLinks, false);
});

Deno.test("the image is built from the pinned Deno and holds every module the router loads", async () => {
  const dockerfile = await readDockerfile();
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const pinned = ci.match(/deno@(\d+\.\d+\.\d+)/)?.[1];
  assert(pinned, ".ci/run pins a Deno version");
  assertEquals(dockerfile.from, `denoland/deno:debian-${pinned}`);
  assertEquals(dockerfile.workdir, "/app");

  const sources = dockerfile.copySources.map((s) => s.replace(/\/$/, ""));
  assertEquals(sources, ["deno.json", "deno.lock", "main.ts", "src"]);
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  const modules: { specifier: string }[] = JSON.parse(new TextDecoder().decode(info.stdout))
    .modules;
  const local = modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"))
    .map((s) => s.slice(ROOT.href.length));
  assert(local.length > 10, "the router's own modules");
  assertEquals(local.filter((p) => p !== "main.ts" && !p.startsWith("src/")), []);

  // The build's `deno install --frozen` passes: deno.lock matches deno.json (run on copies).
  const build = await Deno.makeTempDir({ prefix: "gitfaas-build-" });
  try {
    for (const file of ["deno.json", "deno.lock"]) {
      await Deno.copyFile(new URL(file, ROOT), `${build}/${file}`);
    }
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--frozen"],
      cwd: build,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
  } finally {
    await Deno.remove(build, { recursive: true });
  }

  // .dockerignore lets in exactly what the Dockerfile copies.
  const ignore = (await Deno.readTextFile(new URL(".dockerignore", ROOT))).split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  assertEquals(ignore, ["*", ...sources.map((s) => `!${s}`)]);
});

/** The API group of a request path: `/api/v1/…` is the core group "". */
function groupOf(path: string): string {
  const parts = path.split("/");
  return parts[1] === "api" ? "" : parts[2];
}

/**
 * Non-resource URLs that the default ClusterRoles system:discovery and
 * system:public-info-viewer allow every authenticated user (GET only).
 */
const DISCOVERY_URLS = [
  "/api",
  "/api/*",
  "/apis",
  "/apis/*",
  "/healthz",
  "/livez",
  "/readyz",
  "/version",
  "/version/",
  "/openapi",
  "/openapi/*",
];

/** The object a request names: its path's last segment, or a list's `metadata.name` selector. */
function nameOf(request: SimRequest): string | undefined {
  if (request.verb === "list" || request.verb === "watch") {
    const selector = new URLSearchParams(request.query).get("fieldSelector") ?? "";
    return /^metadata\.name=(.+)$/.exec(selector)?.[1];
  }
  if (request.verb === "create") return undefined;
  const parts = request.path.split("/");
  const at = parts.indexOf(request.resource.split("/")[0]);
  return at >= 0 ? parts[at + 1] : undefined;
}

/** Whether `rule` covers `verb` on the object `request` names. */
function grants(rule: Manifest, request: SimRequest, verb: string): boolean {
  return rule.apiGroups.includes(groupOf(request.path)) &&
    rule.resources.includes(request.resource) && rule.verbs.includes(verb) &&
    (!rule.resourceNames || rule.resourceNames.includes(nameOf(request)));
}

/** Why RBAC would refuse `request` with the Roles' rules by namespace; undefined: allowed. */
function refusal(
  rulesByNamespace: Record<string, Manifest[]>,
  request: SimRequest,
): string | undefined {
  if (request.resource === "") {
    const allowed = request.method === "GET" &&
      DISCOVERY_URLS.some((url) =>
        url.endsWith("*") ? request.path.startsWith(url.slice(0, -1)) : request.path === url
      );
    return allowed ? undefined : "a non-resource URL outside discovery";
  }
  const rules = rulesByNamespace[request.namespace ?? ""];
  if (!rules) return `no Role in namespace ${request.namespace ?? "(cluster)"}`;
  const missing = verbsOf(request).filter((verb) => !rules.some((r) => grants(r, request, verb)));
  return missing.length ? `no rule grants ${missing.join(", ")}` : undefined;
}

/** The verbs the API server checks: an apply that creates the object needs create too. */
function verbsOf(request: SimRequest): string[] {
  return request.verb === "patch" && request.status === 201 ? ["patch", "create"] : [request.verb];
}

const GENERATED_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: batch-
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: batch
          image: busybox
          args: ["{{MESSAGE}}"]
`;

Deno.test("the Role allows every API call the router makes, and grants nothing unused", async () => {
  const [role] = await deployFile("role.yaml");
  const [replicasRole] = await deployFile("role-replicas.yaml");
  const [deployment] = await deployFile("deployment.yaml");
  // The router runs in its namespace (the replicas' Role); the Jobs' Role is where they go.
  const routerNamespace: string = deployment.metadata.namespace;
  const namespace: string = role.metadata.namespace;
  const rules: Manifest[] = role.rules;
  const rulesByNamespace = { [namespace]: rules, [routerNamespace]: replicasRole.rules };
  for (const rule of [...rules, ...replicasRole.rules]) {
    for (const list of [rule.apiGroups, rule.resources, rule.verbs]) {
      assertEquals(list.includes("*"), false, "no wildcards");
    }
  }
  assertEquals(rules.map((r) => [r.apiGroups, r.resources]), [
    [["batch"], ["jobs"]],
    [[""], ["pods"]],
    [[""], ["secrets"]],
  ]);

  const git = await GitServer.start();
  await git.createRepo("pipelines", {
    files: {
      "config.json": JSON.stringify({
        topics: [
          { name: "echo", configs: ["echo.yaml"] },
          { name: "batch", configs: ["batch.yaml"] },
          // A schedule: its ticks are recorded in the replicas' shared ConfigMap.
          {
            name: "tick",
            configs: ["batch.yaml"],
            schedule: "@every 1s",
            startingDeadlineSeconds: 60,
          },
        ],
      }),
      "echo.yaml": ECHO_JOB,
      "batch.yaml": GENERATED_JOB,
    },
  });
  const kube = await KubeSim.start({
    tls: true,
    namespaces: ["default", routerNamespace, namespace],
  });
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-rbac-" });
  let router: RouterProcess | undefined;
  try {
    // The pod's environment: deploy/'s settings, pointed at the test servers.
    const { container } = await routerContainer();
    const literal = container.env.filter((e: Manifest) => e.value !== undefined)
      .map((e: Manifest) => [e.name, e.value]);
    const prefix = `${dir}/root`;
    router = await RouterProcess.start({
      ...Object.fromEntries((await configEnv()).set),
      ...Object.fromEntries(literal),
      ...await kube.writeServiceAccount(prefix, routerNamespace),
      SERVICE_ACCOUNT_PREFIX: prefix,
      GIT_URL: git.repoUrl("pipelines"),
      GIT_USER_NAME: git.user,
      GIT_PERSONAL_TOKEN: git.token,
      DATA_DIR: `${dir}/data`,
      PORT: "0",
      // The downward API's values.
      POD_NAME: "gitfaas-6d4b9-x2x7q",
      POD_NAMESPACE: routerNamespace,
    });
    const running = router;
    assertEquals((await running.call("/healthz")).status, 200);
    await running.waitFor(async () => (await running.call("/readyz")).status === 200);

    // Each topic twice with one Idempotency-Key (the retry reads back what the first made),
    // and once as a dry run.
    for (const topic of ["echo", "batch"]) {
      for (
        const path of [`/publish/${topic}`, `/publish/${topic}`, `/publish/${topic}?dryRun=true`]
      ) {
        const { status, body } = await running.call(path, {
          method: "POST",
          body: "hello",
          headers: { "idempotency-key": `rbac-${topic}` },
        });
        assertEquals(status, 202, `${path}: ${JSON.stringify(body)}`);
      }
    }
    assertEquals(kube.objects({ kind: "Job", namespace }).length >= 2, true);

    // The runs API: read a request back, store its result, read it, cancel it.
    const published = await running.call("/publish/batch", { method: "POST", body: "x" });
    const uuid = published.body.requestUuid;
    await running.waitFor(async () => (await running.call(`/requests/${uuid}`)).status === 200);
    const posted = await running.call(`/requests/${uuid}/result`, { method: "POST", body: "r" });
    assertEquals(posted.status, 201, JSON.stringify(posted.body));
    assertEquals(await running.fetch(`/requests/${uuid}/result`).then((r) => r.text()), "r");
    const cancelled = await running.call(`/requests/${uuid}`, { method: "DELETE" });
    assertEquals(cancelled.status, 200, JSON.stringify(cancelled.body));
    // The replicas: /status lists them (their Leases), a tick was recorded twice.
    await running.waitFor(async () => (await running.call("/status")).body.replicas?.live?.length);
    await running.waitFor(() =>
      kube.requests.filter((r) => r.resource === "configmaps" && r.verb === "patch").length >= 2
    );
    // A replica that stops removes its Lease.
    await running.stop();
    router = undefined;

    const requests = kube.requests.filter((r) => r.status !== 0);
    assert(requests.length > 0);
    const refused = requests.flatMap((r) => {
      const why = refusal(rulesByNamespace, r);
      return why ? [`${r.method} ${r.path}?${r.query} (${r.verb} ${r.resource}): ${why}`] : [];
    });
    assertEquals(refused, [], "calls the Roles would refuse");
    for (const [where, granted] of Object.entries(rulesByNamespace)) {
      for (const rule of granted) {
        const used = new Set(
          requests.filter((r) => r.namespace === where).flatMap((r) =>
            verbsOf(r).filter((verb) => grants(rule, r, verb))
          ),
        );
        const unused = rule.verbs.filter((verb: string) => !used.has(verb));
        assertEquals(
          unused,
          [],
          `${where} ${rule.resources}: granted, but the router never needs it: remove it`,
        );
      }
    }
  } finally {
    await router?.stop();
    await kube.close();
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
});
