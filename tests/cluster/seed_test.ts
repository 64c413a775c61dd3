/**
 * The seed project's README examples on the real API server: its "Complete example" (ephemeral
 * volume with a volumeClaimTemplate, projected secret, TTL, backoffLimit 0) is accepted, and
 * its `some_pod-name-…` name is refused with a message that names the file, both by the router
 * when it reads the commit and by the API server when a value makes the name.
 */

import { assert, assertEquals, assertStringIncludes } from "../support/assert.ts";
import {
  eventually,
  getOrNone,
  list,
  startClusterStack,
  trueCondition,
} from "../support/cluster/testing.ts";
import { configJson } from "../support/fixtures.ts";

/** The seed README's "Complete example", with a name the API server accepts. */
const COMPLETE = `apiVersion: batch/v1
kind: Job
metadata:
  name: some-pod-name-{{RANDOM}}
spec:
  ttlSecondsAfterFinished: 60
  backoffLimit: 0
  template:
    spec:
      containers:
      - name: myfunction
        image: registry.example.com/function:1
        command: ["python3", "handler.py"]
        env:
        - name: MESSAGE
          value: "{{MESSAGE}}"
        - name: REQUEST_UUID
          value: "{{REQUEST_UUID}}"
        volumeMounts:
          - name: my-light-volume
            mountPath: /mnt/disk/
          - name: my-projected-secrets
            mountPath: /var/somefolder/secrets
      restartPolicy: Never
      volumes:
        - name: my-projected-secrets
          projected:
            defaultMode: 420
            sources:
            - secret:
                items:
                - key: secret-name
                  path: secret-name
                name: secret-name
        - name: my-light-volume
          ephemeral:
            volumeClaimTemplate:
              metadata:
                labels:
                  type: my-volume
              spec:
                accessModes: [ "ReadWriteOnce" ]
                storageClassName: "csi-cinder-high-speed"
                resources:
                  requests:
                    storage: 1Gi
`;

/** The seed's own name, with an underscore. */
const SEED_NAME = COMPLETE.replace("some-pod-name-{{RANDOM}}", "some_pod-name-{{RANDOM}}");

/** The same name, made by a value, so only the API server can judge it. */
const NAME_FROM_VALUE = COMPLETE.replace("some-pod-name-{{RANDOM}}", "{{prefix}}-{{RANDOM}}");

Deno.test("the seed's complete example is accepted by the real API server", async () => {
  const stack = await startClusterStack("seed", {
    files: {
      "config.json": configJson({ complete: ["complete.yaml"], named: ["named.yaml"] }),
      "complete.yaml": COMPLETE,
      "named.yaml": NAME_FROM_VALUE,
    },
  });
  const { cluster, namespace } = stack;
  try {
    const { status, body } = await stack.publish("complete", { body: '{"file":"a.gz"}' });
    assertEquals(status, 202, JSON.stringify(body));
    const name: string = body.objects[0].name;
    const job = await cluster.json(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
    const spec = job.spec;
    assertEquals([spec.ttlSecondsAfterFinished, spec.backoffLimit], [60, 0]);
    // The real chain behind the volume: the Job controller makes the pod, the ephemeral-volume
    // controller its claim (owned by the pod, so it goes with it), the binder binds it to the
    // volume the stand-in driver made, the scheduler places the pod, kwok runs it.
    const pods = `/api/v1/namespaces/${namespace}/pods`;
    const [pod] = await eventually(`the pod of ${name}`, async () => {
      const found = await list(cluster, pods, `job-name=${name}`);
      return found.length > 0 ? found : undefined;
    });
    const claimPath =
      `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${pod.metadata.name}-my-light-volume`;
    const claim = await eventually("the pod's volume claim, Bound", async () => {
      const found = await getOrNone(cluster, claimPath);
      return found?.status?.phase === "Bound" ? found : undefined;
    });
    assertEquals(claim.metadata.ownerReferences[0].kind, "Pod");
    assertEquals(claim.metadata.labels.type, "my-volume");
    assertEquals(claim.spec.resources.requests.storage, "1Gi");
    assertEquals(claim.spec.storageClassName, "csi-cinder-high-speed");
    await eventually(`Job ${name} Complete`, async () =>
      trueCondition(
        await getOrNone(cluster, `/apis/batch/v1/namespaces/${namespace}/jobs/${name}`),
        "Complete",
      ) !== undefined);

    // The seed's name made by a value: the router checks the rendered name with the API
    // server's own rule (RFC 1123) and refuses it, naming the file, before sending anything.
    const refused = await stack.publish("named?prefix=some_pod-name");
    assertEquals(refused.status, 422, JSON.stringify(refused.body));
    assertStringIncludes(refused.body.error, "named.yaml");
    assertStringIncludes(refused.body.error, "some_pod-name");
    assertStringIncludes(refused.body.error, "is not a valid name");
    assertStringIncludes(refused.body.error, "nothing was applied");
  } finally {
    await stack.close();
  }
});

Deno.test("the seed's some_pod-name-… is refused with a message that names the file", async () => {
  const stack = await startClusterStack("seed-name", {
    files: { "config.json": configJson({ ok: ["ok.yaml"] }), "ok.yaml": COMPLETE },
  });
  try {
    await stack.repo.commitAndPush(
      {
        "config.json": configJson({ ok: ["ok.yaml"], seed: ["functions/seed.yaml"] }),
        "functions/seed.yaml": SEED_NAME,
      },
      "the seed's example as written",
    );
    const { status, body } = await stack.router.call("/refresh");
    assertEquals(status, 422, JSON.stringify(body));
    const problem = (body.problems as string[]).find((p) => p.includes("functions/seed.yaml"));
    assert(problem, JSON.stringify(body.problems));
    assertStringIncludes(problem, 'metadata.name "some_pod-name-');
    // The last good commit keeps serving.
    const ok = await stack.publish("ok");
    assertEquals(ok.status, 202, JSON.stringify(ok.body));
  } finally {
    await stack.close();
  }
});
