/**
 * `deploy/` on the real API server: `kubectl apply -k deploy/` installs cleanly (the router's pod
 * passes the namespace's Pod Security level and is scheduled), and the router, logged in with a
 * token of deploy/'s ServiceAccount, is judged by the real RBAC: what the Role grants succeeds,
 * in the namespace where the Role grants it, and a kind it does not grant is refused with the
 * API server's own 403 message in the report. Namespaces and names are read from deploy/.
 */

import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import { eventually, list, type Obj } from "../support/cluster/testing.ts";
import { attachCluster } from "../support/cluster/testing.ts";
import { configEnv, deployFile, ROOT } from "../support/deploy_files.ts";
import { configJson, ECHO_JOB } from "../support/fixtures.ts";
import { GitServer } from "../support/git_server.ts";
import { RouterProcess } from "../support/router_process.ts";
import { parseAllDocuments } from "yaml";

const GENERATED_JOB = ECHO_JOB.replace("name: echo-{{RANDOM}}", "generateName: batch-");

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: note-{{RANDOM}}
data:
  message: "{{MESSAGE}}"
`;

Deno.test("deploy/ installs on the real API server and its RBAC decides what the router may do", async () => {
  const cluster = await attachCluster();
  const git = await GitServer.start();
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-deploy-" });
  let router: RouterProcess | undefined;
  try {
    const rendered = await cluster.kubectl(["kustomize", "deploy/"], { cwd: ROOT.pathname });
    assertEquals(rendered.code, 0, rendered.stderr);
    const objects: Obj[] = parseAllDocuments(rendered.stdout).map((d) => d.toJS()).filter(
      Boolean,
    );
    const account = objects.find((o) => o.kind === "ServiceAccount")!;
    const jobRoles = objects.filter((o) =>
      o.kind === "Role" &&
      o.rules.some((r: Obj) => r.apiGroups.includes("batch") && r.resources.includes("jobs"))
    );
    assertEquals(jobRoles.length, 1, "one Role grants Jobs");
    const jobsNamespace: string = jobRoles[0].metadata.namespace;

    const applied = await cluster.kubectl(["apply", "-k", "deploy/"], { cwd: ROOT.pathname });
    assertEquals(applied.code, 0, applied.stderr);
    // The router's pod meets every Pod Security level the namespace labels ask for.
    assertEquals(applied.stderr.includes("PodSecurity"), false, applied.stderr);
    const routerPods = await eventually("the router's pod, scheduled and Running", async () => {
      const pods = await list(
        cluster,
        `/api/v1/namespaces/${account.metadata.namespace}/pods`,
        "app.kubernetes.io/component=router",
      );
      return pods.some((p) => p.status.phase === "Running") ? pods : undefined;
    });
    assertEquals(routerPods[0].spec.serviceAccountName, account.metadata.name);

    // The pod's login, as the kubelet would mount it: a token of the ServiceAccount.
    const token = await cluster.kubectl([
      "-n",
      account.metadata.namespace,
      "create",
      "token",
      account.metadata.name,
      "--duration=1h",
    ]);
    assertEquals(token.code, 0, token.stderr);
    const prefix = `${dir}/root`;
    const mount = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`;
    await Deno.mkdir(mount, { recursive: true });
    await Deno.writeTextFile(`${mount}/token`, token.stdout.trim());
    await Deno.writeTextFile(`${mount}/ca.crt`, cluster.caPem);
    await Deno.writeTextFile(`${mount}/namespace`, account.metadata.namespace);

    await git.createRepo("pipelines", {
      files: {
        "config.json": configJson({
          echo: ["echo.yaml"],
          batch: ["batch.yaml"],
          note: ["note.yaml"],
        }),
        "echo.yaml": ECHO_JOB,
        "batch.yaml": GENERATED_JOB,
        "note.yaml": CONFIG_MAP,
      },
    });
    // The pod's environment: deploy/'s settings, the Deployment's literal values, and what its
    // downward API gives the pod (its name, namespace and service account).
    const [deployment] = await deployFile("deployment.yaml");
    const literal = deployment.spec.template.spec.containers[0].env
      .filter((e: Obj) => e.value !== undefined).map((e: Obj) => [e.name, e.value]);
    router = await RouterProcess.start({
      ...Object.fromEntries((await configEnv()).set),
      ...Object.fromEntries(literal),
      POD_NAME: routerPods[0].metadata.name,
      POD_NAMESPACE: routerPods[0].metadata.namespace,
      ROUTER_SERVICE_ACCOUNT: routerPods[0].spec.serviceAccountName,
      SERVICE_ACCOUNT_PREFIX: prefix,
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: new URL(cluster.server).port,
      GIT_URL: git.repoUrl("pipelines"),
      GIT_USER_NAME: git.user,
      GIT_PERSONAL_TOKEN: git.token,
      DATA_DIR: `${dir}/data`,
      PORT: "0",
    });
    const running = router;
    await running.waitFor(async () => (await running.call("/readyz")).status === 200);
    const publish = (path: string, key?: string) =>
      running.call(`/publish/${path}`, {
        method: "POST",
        body: "hello",
        headers: key ? { "idempotency-key": key } : {},
      });

    // What the Role grants: server-side apply (patch), create, and get for a retry.
    for (const topic of ["echo", "batch"]) {
      for (const key of [undefined, `${topic}-key`, `${topic}-key`]) {
        const { status, body } = await publish(topic, key);
        assertEquals(status, 202, `${topic}: ${JSON.stringify(body)}`);
        assertEquals(body.objects[0].namespace, jobsNamespace);
      }
    }
    const jobs = await list(cluster, `/apis/batch/v1/namespaces/${jobsNamespace}/jobs`);
    assertEquals(jobs.length, 4, "two per topic: the retry with the same key found its Job");

    // What it does not grant: the API server's own refusal, word for word, in the report.
    const { status, body } = await publish("note");
    assertEquals(status, 422, JSON.stringify(body));
    const [object] = body.objects;
    assertEquals([object.outcome, object.code, object.reason], ["failed", 403, "Forbidden"]);
    const user = `system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}`;
    assertStringIncludes(
      object.error,
      `configmaps "${object.name}" is forbidden: User "${user}" cannot patch resource ` +
        `"configmaps" in API group "" in the namespace "${object.namespace}"`,
    );
    assert(
      (await list(cluster, `/api/v1/namespaces/${object.namespace}/configmaps`))
        .every((c) => !c.metadata.name.startsWith("note-")),
      "nothing was stored",
    );
    // Nothing else the router did (its watches of Jobs and pods included) was refused.
    const refused = running.logs().map((line) => JSON.stringify(line))
      .filter((line) => /forbidden/i.test(line) && !line.includes("configmaps"));
    assertEquals(refused, [], "the Role refuses the router something it does");
  } finally {
    await router?.stop();
    await git.close();
    await cluster.kubectl(["delete", "-k", "deploy/", "--wait=false"], { cwd: ROOT.pathname });
    await cluster.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
});
