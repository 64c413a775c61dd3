import { assertEquals } from "./support/assert.ts";
import { addLabels } from "../src/publish/labels.ts";
import type { KubeObject } from "../src/kube/apply.ts";

const MARK = {
  "app.kubernetes.io/managed-by": "gitfaas",
  "gitfaas.io/topic": "t",
  "gitfaas.io/request-uuid": "u",
};

Deno.test("objects and the pod templates of controllers get the router's labels", () => {
  const job: KubeObject = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", labels: { team: "data", "gitfaas.io/topic": "forged" } },
    spec: { template: { spec: {} } },
  };
  addLabels(job, { topic: "t", requestUuid: "u" });
  assertEquals(job.metadata!.labels, { team: "data", ...MARK });
  // deno-lint-ignore no-explicit-any
  assertEquals((job as any).spec.template.metadata.labels, MARK);

  const cron: KubeObject = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    spec: { jobTemplate: { spec: { template: { metadata: { labels: { a: "b" } } } } } },
  };
  addLabels(cron, { topic: "t", requestUuid: "u" });
  // deno-lint-ignore no-explicit-any
  const spec = (cron as any).spec;
  assertEquals(spec.jobTemplate.metadata.labels, MARK);
  assertEquals(spec.jobTemplate.spec.template.metadata.labels, { a: "b", ...MARK });
});

Deno.test("kinds without a pod template only get labels on themselves", () => {
  const cm: KubeObject = { apiVersion: "v1", kind: "ConfigMap", data: { template: "x" } };
  addLabels(cm, { topic: "t", requestUuid: "u" });
  assertEquals(cm.metadata, { labels: MARK });
  assertEquals(cm.data, { template: "x" });
});
