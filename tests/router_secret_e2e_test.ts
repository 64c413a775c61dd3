/**
 * Pipeline authors cannot read the router's Secret. With deploy/'s settings the router runs in
 * `gitfaas` and applies only to `gitfaas-jobs`, so a template cannot reach `gitfaas-secrets`
 * or run as the router's ServiceAccount: by a namespace written out or given as a value, by
 * naming the account, or by referencing the Secret. Where Jobs do share the router's namespace,
 * the policy refuses every reference to a Secret there.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { configEnv, deployFile, type Manifest } from "./support/deploy_files.ts";
import { configJson } from "./support/fixtures.ts";
import { GitServer } from "./support/git_server.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { RouterProcess } from "./support/router_process.ts";

/** A Job whose pod spec gets `pod` (YAML lines at the pod spec's indentation). */
function job(name: string, pod: string, metadata = ""): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}-{{RANDOM}}
${metadata}spec:
  template:
    spec:
      restartPolicy: Never
${pod}      containers:
        - name: main
          image: busybox
          env:
            - name: TOKEN
              valueFrom:
                secretKeyRef:
                  name: gitfaas-secrets
                  key: GIT_PERSONAL_TOKEN
`;
}

const PLAIN = `apiVersion: batch/v1
kind: Job
metadata:
  name: plain-{{RANDOM}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          args: ["{{MESSAGE}}"]
`;

const FILES: Record<string, string> = {
  "config.json": configJson({
    plain: ["plain.yaml"],
    "secret-ref": ["secret_ref.yaml"],
    "router-namespace": ["router_namespace.yaml"],
    "namespace-value": ["namespace_value.yaml"],
    "router-account": ["router_account.yaml"],
    "account-value": ["account_value.yaml"],
  }),
  "plain.yaml": PLAIN,
  "secret_ref.yaml": job("secret-ref", ""),
  "router_namespace.yaml": job("router-namespace", "", "  namespace: gitfaas\n"),
  "namespace_value.yaml": job("namespace-value", "", "  namespace: '{{ns}}'\n"),
  "router_account.yaml": job("router-account", "      serviceAccountName: gitfaas\n"),
  "account_value.yaml": job("account-value", "      serviceAccountName: '{{sa}}'\n"),
};

/** A router logged in as an in-cluster service account of `namespace`, with `env`. */
async function startInCluster(
  kube: KubeSim,
  git: GitServer,
  dir: string,
  namespace: string,
  env: Record<string, string>,
): Promise<RouterProcess> {
  const prefix = `${dir}/root`;
  const router = await RouterProcess.start({
    ...env,
    ...await kube.writeServiceAccount(prefix, namespace),
    SERVICE_ACCOUNT_PREFIX: prefix,
    GIT_URL: git.repoUrl("pipelines"),
    GIT_USER_NAME: git.user,
    GIT_PERSONAL_TOKEN: git.token,
    DATA_DIR: `${dir}/data`,
    GIT_POLL_INTERVAL: "3600",
  });
  await router.waitFor(async () => (await router.call("/readyz")).status === 200);
  return router;
}

Deno.test("with deploy/'s settings no template reaches the router's Secret or account", async () => {
  const [deployment] = await deployFile("deployment.yaml");
  const routerNamespace: string = deployment.metadata.namespace;
  const pod = deployment.spec.template.spec;
  const settings = Object.fromEntries((await configEnv()).set);
  const jobsNamespace = settings.NAMESPACE;
  assertEquals([routerNamespace, jobsNamespace], ["gitfaas", "gitfaas-jobs"]);
  const literal = pod.containers[0].env.filter((e: Manifest) => e.value !== undefined)
    .map((e: Manifest) => [e.name, e.value]);

  const git = await GitServer.start();
  await git.createRepo("pipelines", { files: FILES });
  const kube = await KubeSim.start({ tls: true, namespaces: [routerNamespace, jobsNamespace] });
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-secret-" });
  let router: RouterProcess | undefined;
  try {
    router = await startInCluster(kube, git, dir, routerNamespace, {
      ...settings,
      ...Object.fromEntries(literal),
      // What the downward API gives the pod (deployment.yaml's fieldRef).
      ROUTER_SERVICE_ACCOUNT: pod.serviceAccountName,
    });
    const publish = (path: string) => router!.call(path, { method: "POST", body: "x" });

    const plain = await publish("/publish/plain");
    assertEquals(plain.status, 202, JSON.stringify(plain.body));
    assertEquals(plain.body.objects[0].namespace, jobsNamespace);
    // The same Secret name in the Jobs' namespace is not the router's Secret.
    const reference = await publish("/publish/secret-ref");
    assertEquals(reference.status, 202, JSON.stringify(reference.body));
    assertEquals(reference.body.objects[0].namespace, jobsNamespace);

    const refused: [string, string][] = [
      [
        "/publish/router-namespace",
        `namespace "gitfaas" is not allowed (ALLOWED_NAMESPACES: gitfaas-jobs)`,
      ],
      [
        "/publish/namespace-value?ns=gitfaas",
        `namespace "gitfaas" is not allowed (ALLOWED_NAMESPACES: gitfaas-jobs)`,
      ],
      [
        "/publish/router-account",
        `serviceAccountName "gitfaas" is the router's own ServiceAccount`,
      ],
      [
        "/publish/account-value?sa=gitfaas",
        `serviceAccountName "gitfaas" is the router's own ServiceAccount`,
      ],
    ];
    for (const [path, expected] of refused) {
      const { status, body } = await publish(path);
      assertEquals(status, 403, `${path}: ${JSON.stringify(body)}`);
      assertStringIncludes(body.error, expected);
    }
    // Written-out violations make their topics unusable as soon as the commit is built.
    const status = (await router.call("/status")).body;
    assertEquals(Object.keys(status.unusableTopics ?? {}).sort(), [
      "router-account",
      "router-namespace",
    ]);

    // Nothing was sent to the router's namespace, and every Job is in the Jobs' namespace.
    const inRouterNamespace = kube.requests.filter((r) => r.namespace === routerNamespace);
    assertEquals(inRouterNamespace.map((r) => `${r.method} ${r.path}`), []);
    assertEquals(kube.objects({ kind: "Job", namespace: routerNamespace }), []);
    assertEquals(kube.objects({ kind: "Job", namespace: jobsNamespace }).length, 2);
  } finally {
    await router?.stop();
    await kube.close();
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("where Jobs share the router's namespace, no Secret there can be referenced", async () => {
  const git = await GitServer.start();
  await git.createRepo("pipelines", { files: FILES });
  const kube = await KubeSim.start({ tls: true, namespaces: ["team"] });
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-secret-" });
  let router: RouterProcess | undefined;
  try {
    // No NAMESPACE: objects go to the service account's namespace, the router's own.
    router = await startInCluster(kube, git, dir, "team", {});
    const plain = await router.call("/publish/plain", { method: "POST", body: "x" });
    assertEquals(plain.status, 202, JSON.stringify(plain.body));
    assertEquals(plain.body.objects[0].namespace, "team");

    const { status, body } = await router.call("/publish/secret-ref", {
      method: "POST",
      body: "x",
    });
    assertEquals(status, 403, JSON.stringify(body));
    assertStringIncludes(
      body.error,
      `secretKeyRef reads Secret "gitfaas-secrets" in the router's own namespace "team"`,
    );
    assertEquals(kube.objects({ kind: "Job" }).length, 1);
    assert(kube.objects({ kind: "Job" })[0].metadata.name.startsWith("plain-"));
  } finally {
    await router?.stop();
    await kube.close();
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
});
