/**
 * End to end: the ways the router logs in to Kubernetes (kubeconfig over HTTPS and HTTP, the
 * in-cluster service account) and where objects land (NAMESPACE, the login's namespace,
 * cluster-scoped kinds).
 */

import { assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { configJson, ECHO_JOB } from "./support/fixtures.ts";
import { GitServer } from "./support/git_server.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { RouterProcess } from "./support/router_process.ts";

const NAMESPACE_OBJECT = `apiVersion: v1
kind: Namespace
metadata:
  name: scratch-{{RANDOM}}
`;

async function withGit<T>(run: (git: GitServer, env: Record<string, string>) => Promise<T>) {
  const git = await GitServer.start();
  await git.createRepo("pipelines", {
    files: {
      "config.json": configJson({ echo: ["echo.yaml"], space: ["namespace.yaml"] }),
      "echo.yaml": ECHO_JOB,
      "namespace.yaml": NAMESPACE_OBJECT,
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-login-" });
  try {
    return await run(git, {
      GIT_URL: git.repoUrl("pipelines"),
      GIT_USER_NAME: git.user,
      GIT_PERSONAL_TOKEN: git.token,
      DATA_DIR: `${dir}/data`,
      TEST_DIR: dir,
    });
  } finally {
    await git.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function publishEcho(router: RouterProcess) {
  await router.waitFor(async () => (await router.call("/readyz")).status === 200);
  return await router.call("/publish/echo", { method: "POST", body: "hello" });
}

Deno.test("in a cluster: the service account's token, CA and namespace are used", async () => {
  await withGit(async (_git, env) => {
    const kube = await KubeSim.start({ tls: true, namespaces: ["default", "team-a"] });
    const prefix = `${env.TEST_DIR}/root`;
    const serviceEnv = await kube.writeServiceAccount(prefix, "team-a");
    const router = await RouterProcess.start({
      ...env,
      ...serviceEnv,
      SERVICE_ACCOUNT_PREFIX: prefix,
    });
    try {
      const { status, body } = await publishEcho(router);
      assertEquals(status, 202, JSON.stringify(body));
      assertEquals(body.objects[0].namespace, "team-a");
      assertEquals(kube.objects({ kind: "Job", namespace: "team-a" }).length, 1);
      assertStringIncludes(router.output, "in-cluster service account");
    } finally {
      await router.stop();
      await kube.close();
    }
  });
});

Deno.test("NAMESPACE places objects that name none; cluster-scoped kinds get none", async () => {
  await withGit(async (_git, env) => {
    const kube = await KubeSim.start({ tls: false, namespaces: ["default", "jobs"] });
    await kube.writeKubeconfig(`${env.TEST_DIR}/kubeconfig`);
    const router = await RouterProcess.start({
      ...env,
      KUBECONFIG: `${env.TEST_DIR}/kubeconfig`,
      NAMESPACE: "jobs",
      ALLOWED_CLUSTER_KINDS: "Namespace",
    });
    try {
      const job = await publishEcho(router);
      assertEquals(job.status, 202, JSON.stringify(job.body));
      assertEquals(job.body.objects[0].namespace, "jobs");
      const space = await router.call("/publish/space", { method: "POST" });
      assertEquals(space.status, 202, JSON.stringify(space.body));
      assertEquals(space.body.objects[0].namespace, undefined);
      assertMatch(space.body.objects[0].name, /^scratch-[a-z0-9]{10}$/);
      assertEquals(
        kube.objects({ kind: "Namespace" }).some((n) =>
          n.metadata.name === space.body.objects[0].name
        ),
        true,
      );
    } finally {
      await router.stop();
      await kube.close();
    }
  });
});

Deno.test("without any Kubernetes login the router stops at start with one clear line", async () => {
  await withGit(async (_git, env) => {
    const error = await RouterProcess.start(env).then(
      async (router) => {
        await router.stop();
        return "";
      },
      (e: Error) => e.message,
    );
    assertStringIncludes(error, "gitfaas: no Kubernetes login found");
  });
});

Deno.test("a bad setting stops the router at start with one line naming it", async () => {
  await withGit(async (_git, env) => {
    const error = await RouterProcess.start({ ...env, PORT: "eighty" }).then(
      async (router) => {
        await router.stop();
        return "";
      },
      (e: Error) => e.message,
    );
    assertStringIncludes(
      error,
      'gitfaas: PORT must be a whole number from 0 to 65535, got "eighty"',
    );
  });
});

Deno.test("a kubeconfig that signs in with an exec plugin is refused with what to do instead", async () => {
  await withGit(async (_git, env) => {
    const kubeconfig = `${env.TEST_DIR}/exec-kubeconfig`;
    await Deno.writeTextFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443'}}]",
        "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, args: [eks, get-token]}}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    const error = await RouterProcess.start({ ...env, KUBECONFIG: kubeconfig }).then(
      async (router) => {
        await router.stop();
        return "";
      },
      (e: Error) => e.message,
    );
    assertStringIncludes(error, 'signs in by running "aws" (an exec plugin)');
    assertStringIncludes(error, "GITFAAS_APPLY=true deno task dev");
  });
});

Deno.test("a port already in use stops the router at start with one line", async () => {
  await withGit(async (_git, env) => {
    const kube = await KubeSim.start();
    await kube.writeKubeconfig(`${env.TEST_DIR}/kubeconfig`);
    const taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
    try {
      const error = await RouterProcess.start({
        ...env,
        KUBECONFIG: `${env.TEST_DIR}/kubeconfig`,
        PORT: String(taken.addr.port),
      }).then(
        async (router) => {
          await router.stop();
          return "";
        },
        (e: Error) => e.message,
      );
      assertStringIncludes(
        error,
        `gitfaas: port ${taken.addr.port} is already in use on 127.0.0.1: set PORT to a free one`,
      );
    } finally {
      taken.close();
      await kube.close();
    }
  });
});
