/**
 * Micro benchmarks of the Kubernetes API simulator (`tests/support/kube_sim/`) in process: how
 * many writes a second it takes, so the publish benchmark measures the router and not the
 * simulator behind it. Each iteration sends 50 requests at once, as the publish benchmark's
 * callers do; creates/s is 50 ÷ the mean time of an iteration.
 *
 * Run: `deno bench --allow-all bench/kube_sim_bench.ts` (`bench/run.ts` runs it too).
 * @module
 */

import { KubeSim } from "../tests/support/kube_sim/mod.ts";

const BATCH = 50;
const ITERATIONS = 40;

const sim = await KubeSim.start({ tls: false });
const client = Deno.createHttpClient({});
let serial = 0;

async function send(method: string, path: string, body: unknown): Promise<void> {
  const contentType = method === "PATCH" ? "application/apply-patch+yaml" : "application/json";
  const response = await fetch(`${sim.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${sim.token}`, "content-type": contentType },
    body: JSON.stringify(body),
    client,
  });
  await response.body?.cancel();
  if (response.status !== 201) throw new Error(`${method} ${path}: HTTP ${response.status}`);
}

/** A Job like the publish benchmark's, under a name never used before. */
function job(name: string) {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "gitfaas" } },
    spec: {
      template: {
        spec: { restartPolicy: "Never", containers: [{ name: "echo", image: "busybox" }] },
      },
    },
  };
}

Deno.bench(`simulator: ${BATCH} ConfigMap creates at once (plain HTTP)`, {
  n: ITERATIONS,
  warmup: 5,
}, async () => {
  await Promise.all(Array.from({ length: BATCH }, () => {
    const name = `c${serial++}`;
    return send("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name } });
  }));
});

Deno.bench(`simulator: ${BATCH} server-side applies of a new Job at once (plain HTTP)`, {
  n: ITERATIONS,
  warmup: 5,
}, async () => {
  await Promise.all(Array.from({ length: BATCH }, () => {
    const name = `j${serial++}`;
    return send(
      "PATCH",
      `/apis/batch/v1/namespaces/default/jobs/${name}?fieldManager=bench&force=true`,
      job(name),
    );
  }));
});

// Deno runs every bench before the module's unload event, so the simulator stops after them.
globalThis.addEventListener("unload", () => {
  client.close();
  void sim.close();
});
