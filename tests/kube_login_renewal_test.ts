/**
 * Logins that change while the router runs: an exec plugin's expiring token, a token file
 * holding a JWT, a 401 from the API server. The kubeconfig is signed in by client-node in a
 * worker each time (a real worker and a real plugin here); the clock that decides when to renew
 * is the test's.
 */

import { assertEquals, assertRejects } from "./support/assert.ts";
import { KubeSim } from "./support/kube_sim/mod.ts";
import { kubeconfigLogin } from "../src/kube/kubeconfig_login.ts";
import { KubeConfigError } from "../src/kube/credentials.ts";
import { connectKube } from "../src/kube/connection.ts";

async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-renew-" });
  try {
    return await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function kubeconfig(user: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
    `users: [{name: u, user: ${user}}]`,
    "contexts: [{name: x, context: {cluster: c, user: u, namespace: team-a}}]",
    "current-context: x",
  ].join("\n");
}

/**
 * An exec credential plugin that counts its runs and answers `token-<run>`, expiring
 * `lifetimeSeconds` after it ran (or failing once `failAfter` runs are done).
 */
async function execPlugin(dir: string, lifetimeSeconds: number, failAfter = Infinity) {
  const script = `${dir}/plugin.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh
n=$(( $(cat ${dir}/runs 2>/dev/null || echo 0) + 1 ))
echo $n > ${dir}/runs
if [ $n -gt ${Number.isFinite(failAfter) ? failAfter : 1_000_000} ]; then
  echo "the identity provider is down" >&2; exit 1
fi
expires=$(date -u -d "@$(( $(date +%s) + ${lifetimeSeconds} ))" +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"token-%s","expirationTimestamp":"%s"}}' $n $expires
`,
  );
  await Deno.chmod(script, 0o755);
  const file = `${dir}/kubeconfig`;
  await Deno.writeTextFile(
    file,
    kubeconfig(`{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${script}}}`),
  );
  return { file, runs: async () => Number(await Deno.readTextFile(`${dir}/runs`)) };
}

/** A clock the test moves. */
function clock() {
  let now = Date.now();
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

Deno.test("an exec plugin's token is kept until it nears its expiry, then the plugin runs again", async () => {
  await withDir(async (dir) => {
    const plugin = await execPlugin(dir, 120);
    const time = clock();
    const login = await kubeconfigLogin([plugin.file], { now: time.now });
    assertEquals(login.namespace, "team-a");
    assertEquals(await login.headers(), { Authorization: "Bearer token-1" });
    time.advance(60_000);
    assertEquals(await login.headers(), { Authorization: "Bearer token-1" });
    assertEquals(await plugin.runs(), 1);
    // 30 s before the expiry the credentials are renewed: a new worker, so the plugin runs.
    time.advance(35_000);
    assertEquals(await login.headers(), { Authorization: "Bearer token-2" });
    assertEquals(await login.headers(), { Authorization: "Bearer token-2" });
    assertEquals(await plugin.runs(), 2);
  });
});

Deno.test("a 401 renews a kubeconfig login, at most once every 10 s", async () => {
  await withDir(async (dir) => {
    const plugin = await execPlugin(dir, 3600);
    const time = clock();
    const login = await kubeconfigLogin([plugin.file], { now: time.now });
    assertEquals(await login.headers(), { Authorization: "Bearer token-1" });
    time.advance(2_000);
    login.rejected();
    // Too soon after the last sign-in: a storm of 401s does not start a storm of sign-ins.
    assertEquals(await login.headers(), { Authorization: "Bearer token-1" });
    time.advance(8_000);
    const [a, b] = await Promise.all([login.headers(), login.headers()]);
    assertEquals([a, b], [{ Authorization: "Bearer token-2" }, {
      Authorization: "Bearer token-2",
    }]);
    assertEquals(await plugin.runs(), 2);
  });
});

Deno.test("a renewal that fails keeps the old token until it expires, then says why", async () => {
  await withDir(async (dir) => {
    const plugin = await execPlugin(dir, 60, 1);
    const time = clock();
    const login = await kubeconfigLogin([plugin.file], { now: time.now });
    time.advance(40_000);
    // Due for renewal, which fails: the token has 20 s left and is still sent.
    assertEquals(await login.headers(), { Authorization: "Bearer token-1" });
    time.advance(25_000);
    const error = await assertRejects(() => login.headers(), KubeConfigError);
    assertEquals(error.message.includes("the identity provider is down"), true, error.message);
  });
});

Deno.test("a token file holding a JWT is read again when the JWT nears its exp", async () => {
  await withDir(async (dir) => {
    const jwt = (n: number, exp: number) =>
      [{ alg: "none" }, { sub: `user-${n}`, exp }].map((part) =>
        btoa(JSON.stringify(part)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")
      ).join(".") + ".";
    const time = clock();
    const exp = Math.floor(time.now() / 1000) + 300;
    await Deno.writeTextFile(`${dir}/token`, jwt(1, exp));
    await Deno.writeTextFile(`${dir}/kubeconfig`, kubeconfig(`{token-file: ${dir}/token}`));
    const login = await kubeconfigLogin([`${dir}/kubeconfig`], { now: time.now });
    assertEquals(await login.headers(), { Authorization: `Bearer ${jwt(1, exp)}` });
    await Deno.writeTextFile(`${dir}/token`, jwt(2, exp + 600));
    time.advance(200_000);
    assertEquals(await login.headers(), { Authorization: `Bearer ${jwt(1, exp)}` });
    time.advance(80_000);
    assertEquals(await login.headers(), { Authorization: `Bearer ${jwt(2, exp + 600)}` });
  });
});

Deno.test("in a cluster, a 401 makes the next request read the token file again", async () => {
  const kube = await KubeSim.start({ tls: true });
  await withDir(async (dir) => {
    const env = await kube.writeServiceAccount(dir);
    const tokenFile = `${dir}/var/run/secrets/kubernetes.io/serviceaccount/token`;
    await Deno.writeTextFile(tokenFile, "a-token-the-kubelet-has-since-rotated");
    const connection = await connectKube({
      serviceAccountPrefix: dir,
      env,
      maxInflight: 4,
    });
    try {
      assertEquals((await connection.request("GET", "/api/v1/namespaces")).status, 401);
      await Deno.writeTextFile(tokenFile, kube.token);
      assertEquals((await connection.request("GET", "/api/v1/namespaces")).status, 200);
    } finally {
      connection.close();
      await kube.close();
    }
  });
});
