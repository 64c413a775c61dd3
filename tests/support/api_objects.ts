/**
 * A finished Job of the publish benchmark's `job` topic and its pod, as a Kubernetes v1.37 API
 * server lists them: server-side applied by the router, defaulted, run by the Job controller
 * and kwok's kubelet stage (managed fields, pod template, volumes, conditions, container
 * statuses). What the runs view is fed by its list and watch in a real cluster (its tests, and
 * `bench/runs_view_memory.ts`).
 * @module
 */

/** The namespace the objects live in. */
export const NAMESPACE = "gitfaas-jobs";

const REVISION = "3f9c1e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e";

function hex(i: number, length: number): string {
  return (i.toString(16).padStart(8, "0") + "9e3779b97f4a7c15f39cc0605cedc834").repeat(4)
    .slice(0, length);
}

function uuid(i: number, salt: string): string {
  const h = hex(i, 32).replace(/^./, salt);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${
    h.slice(20, 32)
  }`;
}

function time(i: number, plus = 0): string {
  return new Date(Date.UTC(2026, 10, 30, 8) + i * 250 + plus * 1000).toISOString()
    .replace(/\.\d+Z$/, "Z");
}

/** The name of Job `i`. */
export function jobName(i: number): string {
  return `echo-${hex(i, 10).slice(2)}`;
}

/** The request uuid of Job `i`. */
export function requestUuidOf(i: number): string {
  return uuid(i, "a");
}

function ourLabels(i: number): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "gitfaas",
    "gitfaas.io/function-uid": uuid(i, "f"),
    "gitfaas.io/request-uuid": requestUuidOf(i),
    "gitfaas.io/revision": REVISION,
    "gitfaas.io/run-id": hex(i * 7, 32),
    "gitfaas.io/topic": "job",
  };
}

function env(i: number) {
  return [
    {
      name: "MESSAGE",
      value: '{"source":"bench","object":"s3://bucket/input-0001.csv","size":1024}',
    },
    { name: "REQUEST_UUID", value: requestUuidOf(i) },
    { name: "TOPIC", value: "job" },
    { name: "FUNCTION_UID", value: uuid(i, "f") },
    { name: "GREETING", value: "hello" },
  ];
}

/** Finished Job `i` as the API server lists it. */
export function finishedJob(i: number): Record<string, unknown> {
  const uid = uuid(i, "c");
  const name = jobName(i);
  const selectorLabels = {
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  const envFields = Object.fromEntries(
    env(i).map((e) => [`k:{"name":"${e.name}"}`, { ".": {}, "f:name": {}, "f:value": {} }]),
  );
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      creationTimestamp: time(i),
      generation: 1,
      labels: ourLabels(i),
      managedFields: [
        {
          apiVersion: "batch/v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": {
              "f:labels": Object.fromEntries(
                Object.keys(ourLabels(i)).map((k) => [`f:${k}`, {}]),
              ),
            },
            "f:spec": {
              "f:backoffLimit": {},
              "f:parallelism": {},
              "f:template": {
                "f:metadata": {
                  "f:labels": Object.fromEntries(
                    Object.keys(ourLabels(i)).map((k) => [`f:${k}`, {}]),
                  ),
                },
                "f:spec": {
                  "f:containers": {
                    'k:{"name":"echo"}': {
                      ".": {},
                      "f:env": { ".": {}, ...envFields },
                      "f:image": {},
                      "f:name": {},
                    },
                  },
                  "f:restartPolicy": {},
                },
              },
              "f:ttlSecondsAfterFinished": {},
            },
          },
          manager: "gitfaas",
          operation: "Apply",
          time: time(i),
        },
        {
          apiVersion: "batch/v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:status": {
              "f:completionTime": {},
              "f:conditions": {},
              "f:ready": {},
              "f:startTime": {},
              "f:succeeded": {},
              "f:terminating": {},
              "f:uncountedTerminatedPods": {},
            },
          },
          manager: "kube-controller-manager",
          operation: "Update",
          subresource: "status",
          time: time(i, 4),
        },
      ],
      name,
      namespace: NAMESPACE,
      resourceVersion: String(100_000 + i * 3),
      uid,
    },
    spec: {
      backoffLimit: 2,
      completionMode: "NonIndexed",
      completions: 1,
      manualSelector: false,
      parallelism: 1,
      podReplacementPolicy: "TerminatingOrFailed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      suspend: false,
      template: {
        metadata: { labels: { ...ourLabels(i), ...selectorLabels } },
        spec: {
          containers: [{
            env: env(i),
            image: "busybox",
            imagePullPolicy: "Always",
            name: "echo",
            resources: {},
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "File",
          }],
          dnsPolicy: "ClusterFirst",
          restartPolicy: "Never",
          schedulerName: "default-scheduler",
          securityContext: {},
          terminationGracePeriodSeconds: 30,
        },
      },
      ttlSecondsAfterFinished: 600,
    },
    status: {
      completionTime: time(i, 4),
      conditions: [
        {
          lastProbeTime: time(i, 4),
          lastTransitionTime: time(i, 4),
          message: "Reached expected number of succeeded pods",
          reason: "CompletionsReached",
          status: "True",
          type: "SuccessCriteriaMet",
        },
        {
          lastProbeTime: time(i, 4),
          lastTransitionTime: time(i, 4),
          message: "Reached expected number of succeeded pods",
          reason: "CompletionsReached",
          status: "True",
          type: "Complete",
        },
      ],
      ready: 0,
      startTime: time(i, 1),
      succeeded: 1,
      terminating: 0,
      uncountedTerminatedPods: {},
    },
  };
}

/** The pod of Job `i`, succeeded, as the API server lists it. */
export function succeededPod(i: number): Record<string, unknown> {
  const jobUid = uuid(i, "c");
  const job = jobName(i);
  const name = `${job}-${hex(i * 13, 5)}`;
  const transitions = (types: string[]) =>
    types.map((type) => ({
      lastProbeTime: null,
      lastTransitionTime: time(i, 2),
      ...(type === "Ready" || type === "ContainersReady"
        ? { reason: "PodCompleted", status: "False" }
        : { status: "True" }),
      type,
    }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      creationTimestamp: time(i, 1),
      finalizers: ["batch.kubernetes.io/job-tracking"],
      generateName: `${job}-`,
      generation: 1,
      labels: {
        ...ourLabels(i),
        "batch.kubernetes.io/controller-uid": jobUid,
        "batch.kubernetes.io/job-name": job,
        "controller-uid": jobUid,
        "job-name": job,
      },
      managedFields: [
        {
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": {
              "f:finalizers": { ".": {}, 'v:"batch.kubernetes.io/job-tracking"': {} },
              "f:generateName": {},
              "f:labels": Object.fromEntries(
                [...Object.keys(ourLabels(i)), "batch.kubernetes.io/controller-uid"].map(
                  (k) => [`f:${k}`, {}],
                ),
              ),
              "f:ownerReferences": { ".": {}, [`k:{"uid":"${jobUid}"}`]: {} },
            },
            "f:spec": {
              "f:containers": {
                'k:{"name":"echo"}': { ".": {}, "f:env": {}, "f:image": {}, "f:name": {} },
              },
              "f:dnsPolicy": {},
              "f:restartPolicy": {},
            },
          },
          manager: "kube-controller-manager",
          operation: "Update",
          time: time(i, 1),
        },
        {
          apiVersion: "v1",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:status": {
              "f:conditions": {},
              "f:containerStatuses": {},
              "f:hostIP": {},
              "f:phase": {},
              "f:podIP": {},
              "f:startTime": {},
            },
          },
          manager: "kwok",
          operation: "Update",
          subresource: "status",
          time: time(i, 3),
        },
      ],
      name,
      namespace: NAMESPACE,
      ownerReferences: [{
        apiVersion: "batch/v1",
        blockOwnerDeletion: true,
        controller: true,
        kind: "Job",
        name: job,
        uid: jobUid,
      }],
      resourceVersion: String(100_001 + i * 3),
      uid: uuid(i, "d"),
    },
    spec: {
      containers: [{
        env: env(i),
        image: "busybox",
        imagePullPolicy: "Always",
        name: "echo",
        resources: {},
        terminationMessagePath: "/dev/termination-log",
        terminationMessagePolicy: "File",
        volumeMounts: [{
          mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
          name: `kube-api-access-${hex(i * 31, 5)}`,
          readOnly: true,
        }],
      }],
      dnsPolicy: "ClusterFirst",
      enableServiceLinks: true,
      nodeName: `kwok-node-${i % 4}`,
      preemptionPolicy: "PreemptLowerPriority",
      priority: 0,
      restartPolicy: "Never",
      schedulerName: "default-scheduler",
      securityContext: {},
      serviceAccount: "default",
      serviceAccountName: "default",
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          effect: "NoExecute",
          key: "node.kubernetes.io/not-ready",
          operator: "Exists",
          tolerationSeconds: 300,
        },
        {
          effect: "NoExecute",
          key: "node.kubernetes.io/unreachable",
          operator: "Exists",
          tolerationSeconds: 300,
        },
      ],
      volumes: [{
        name: `kube-api-access-${hex(i * 31, 5)}`,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            {
              configMap: {
                items: [{ key: "ca.crt", path: "ca.crt" }],
                name: "kube-root-ca.crt",
              },
            },
            {
              downwardAPI: {
                items: [{
                  fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
                  path: "namespace",
                }],
              },
            },
          ],
        },
      }],
    },
    status: {
      conditions: transitions([
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
      ]),
      containerStatuses: [{
        containerID: `containerd://${hex(i * 17, 64)}`,
        image: "docker.io/library/busybox:latest",
        imageID: `docker.io/library/busybox@sha256:${hex(5, 64)}`,
        lastState: {},
        name: "echo",
        ready: false,
        restartCount: 0,
        started: false,
        state: {
          terminated: {
            containerID: `containerd://${hex(i * 17, 64)}`,
            exitCode: 0,
            finishedAt: time(i, 3),
            reason: "Completed",
            startedAt: time(i, 2),
          },
        },
        volumeMounts: [{
          mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
          name: `kube-api-access-${hex(i * 31, 5)}`,
          readOnly: true,
          recursiveReadOnly: "Disabled",
        }],
      }],
      hostIP: `10.0.0.${i % 4 + 1}`,
      hostIPs: [{ ip: `10.0.0.${i % 4 + 1}` }],
      phase: "Succeeded",
      podIP: `10.244.${(i >> 8) & 255}.${i & 255}`,
      podIPs: [{ ip: `10.244.${(i >> 8) & 255}.${i & 255}` }],
      qosClass: "BestEffort",
      startTime: time(i, 1),
    },
  };
}
