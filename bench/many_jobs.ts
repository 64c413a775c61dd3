/**
 * A router started next to many Jobs it already owns: how long its runs view takes to list them
 * and what it then holds at rest. The simulator gets N Jobs shaped like a publish's (labels, a
 * pod template, an env), then a second router starts with its own DATA_DIR, as a new replica
 * or a restart would, and its RSS is read from its `/metrics` 2, 12 and 22 s after its runs view
 * first answers.
 *
 * Run: `deno run -A bench/many_jobs.ts [jobs]` (default 40,000; ~50 s to create them).
 * @module
 */

import { startStack } from "../tests/support/fixtures.ts";
import { RouterProcess } from "../tests/support/router_process.ts";

const count = Number(Deno.args[0] ?? 40_000);
const stack = await startStack({ env: { LOG_LEVEL: "info" } });
const labels = { "app.kubernetes.io/managed-by": "gitfaas", "gitfaas.io/topic": "echo" };
try {
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const own = { ...labels, "gitfaas.io/request-uuid": crypto.randomUUID() };
    await stack.kube.call("POST", "/apis/batch/v1/namespaces/default/jobs", {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: `echo-${i}`, labels: own },
      spec: {
        backoffLimit: 2,
        ttlSecondsAfterFinished: 600,
        template: {
          metadata: { labels: own },
          spec: {
            restartPolicy: "Never",
            containers: [{
              name: "echo",
              image: "busybox:1.36",
              command: ["sh", "-c", "echo $MESSAGE | base64 -d"],
              env: [{ name: "MESSAGE", value: "eyJoZWxsbyI6IndvcmxkIn0=" }],
              resources: { requests: { cpu: "10m", memory: "16Mi" } },
            }],
          },
        },
      },
    });
  }
  console.log(`created ${count} Jobs in ${Math.round(performance.now() - started)} ms`);
  const router = await RouterProcess.start({
    ...stack.env,
    DATA_DIR: `${stack.dataDir}-2`,
    LOG_LEVEL: "info",
  });
  try {
    await router.waitFor(async () => (await router.call("/readyz")).status === 200, 120_000);
    const ready = performance.now();
    await router.waitFor(async () => {
      const { status, body } = await router.call("/requests?limit=1");
      return status === 200 && JSON.stringify(body).includes("echo");
    }, 120_000);
    console.log(`runs view listed ${Math.round(performance.now() - ready)} ms after ready`);
    const rss = async () => {
      const text = await (await router.fetch("/metrics")).text();
      const value = /^process_resident_memory_bytes (\S+)/m.exec(text)?.[1];
      return value ? (Number(value) / 2 ** 20).toFixed(1) : "?";
    };
    for (const seconds of [2, 12, 22]) {
      await new Promise((resolve) => setTimeout(resolve, seconds === 2 ? 2000 : 10_000));
      console.log(`RSS ${seconds} s after: ${await rss()} MB`);
    }
  } finally {
    await router.stop();
  }
} finally {
  await stack.close();
}
