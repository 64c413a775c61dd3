/**
 * The example pipeline in `examples/` (collect → uncompress → convert) against the real API
 * server. kwok does not run containers, so the test plays each step's container: it reads the
 * Job the real server stored, does what the step's shell script does, and publishes the next
 * step the way the script would (same body, query and Idempotency-Key).
 */

import { assertEquals, assertMatch } from "../support/assert.ts";
import {
  type ClusterStack,
  eventually,
  getOrNone,
  type Obj,
  startClusterStack,
  trueCondition,
} from "../support/cluster/testing.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);

async function exampleFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of ["config.json", "collect.yaml", "uncompress.yaml", "convert.yaml"]) {
    files[name] = await Deno.readTextFile(new URL(name, EXAMPLES));
  }
  return files;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
}

async function pipe(bytes: Uint8Array, transform: CompressionStream | DecompressionStream) {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(transform);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A value of the first container's environment of the Job the report names. */
async function jobEnv(stack: ClusterStack, report: Obj): Promise<Record<string, string>> {
  const { namespace, name } = report.objects[0];
  const job = await stack.cluster.json(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
  const env: Obj[] = job.spec.template.spec.containers[0].env;
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

Deno.test("the example pipeline runs its three steps on the real API server", async () => {
  const stack = await startClusterStack("pipeline", { files: await exampleFiles() });
  const text = new TextEncoder();
  try {
    // Step 1, as a user starts it.
    const collect = await stack.publish("timeToCollect", {
      body: '{"source":"greenhouse"}',
      contentType: "application/json",
    });
    assertEquals(collect.status, 202, JSON.stringify(collect.body));
    assertMatch(collect.body.objects[0].name, /^collect-[a-z0-9]+$/);

    // collect's container: make 20 readings for the source, gzip, base64, publish.
    const collectEnv = await jobEnv(stack, collect.body);
    const request = JSON.parse(new TextDecoder().decode(fromBase64(collectEnv.MESSAGE)));
    const lines = ["time,source,value"];
    for (let i = 0; i < 20; i++) lines.push(`${i},${request.source},${(i * 7) % 13}`);
    const csv = lines.join("\n") + "\n";
    const gzipped = await pipe(text.encode(csv), new CompressionStream("gzip"));
    const uuid1 = collectEnv.REQUEST_UUID;
    const uncompress = await stack.publish(`timeToUncompress?from=${uuid1}`, {
      body: toBase64(gzipped),
      idempotencyKey: `${uuid1}-timeToUncompress`,
    });
    assertEquals(uncompress.status, 202, JSON.stringify(uncompress.body));
    assertEquals(uncompress.body.idempotencyKey, `${uuid1}-timeToUncompress`);

    // uncompress's container: base64 twice, gunzip, publish the CSV.
    const uncompressEnv = await jobEnv(stack, uncompress.body);
    const body = new TextDecoder().decode(fromBase64(uncompressEnv.MESSAGE));
    const unzipped = await pipe(fromBase64(body), new DecompressionStream("gzip"));
    const uuid2 = uncompressEnv.REQUEST_UUID;
    const convert = await stack.publish(`timeToConvert?from=${uuid2}`, {
      body: new TextDecoder().decode(unzipped),
      idempotencyKey: `${uuid2}-timeToConvert`,
    });
    assertEquals(convert.status, 202, JSON.stringify(convert.body));

    // convert's container: the CSV it got is the one collect made.
    const convertEnv = await jobEnv(stack, convert.body);
    assertEquals(new TextDecoder().decode(fromBase64(convertEnv.MESSAGE)), csv);
    const { namespace, name } = convert.body.objects[0];
    const job = await stack.cluster.json(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
    const annotations = job.metadata.annotations;
    assertEquals(annotations["example.gitfaas.io/previous-step"], uuid2);

    // A retried step (Kubernetes restarting collect's pod) starts the next step only once.
    const retry = await stack.publish(`timeToUncompress?from=${uuid1}`, {
      body: toBase64(gzipped),
      idempotencyKey: `${uuid1}-timeToUncompress`,
    });
    assertEquals(retry.status, 202, JSON.stringify(retry.body));
    assertEquals(retry.body.objects[0].name, uncompress.body.objects[0].name);
    assertEquals(retry.body.objects[0].outcome, "unchanged");
    const jobs = await stack.cluster.json(
      `/apis/batch/v1/namespaces/${stack.namespace}/jobs?labelSelector=` +
        encodeURIComponent("app.kubernetes.io/part-of=example-pipeline"),
    );
    const names = jobs.items.map((j: Obj) => j.metadata.generateName ?? j.metadata.name)
      .map((n: string) => n.replace(/-[a-z0-9]+$/, ""));
    assertEquals(names.sort(), ["collect", "convert", "uncompress"]);
    // Each step's Job runs to the end on the fake node, its ephemeral volume claim bound.
    for (const report of [collect.body, uncompress.body, convert.body]) {
      const { namespace, name } = report.objects[0];
      await eventually(`Job ${name} Complete`, async () =>
        trueCondition(
          await getOrNone(stack.cluster, `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`),
          "Complete",
        ) !== undefined);
    }
  } finally {
    await stack.close();
  }
});
