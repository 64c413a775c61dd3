/**
 * Pipeline repositories for the web page's tests: topics that render cleanly, one whose
 * namespace comes from a value (so the policy can only judge it rendered), and one the policy
 * refuses at index build.
 * @module
 */

import { configJson, ECHO_JOB } from "./fixtures.ts";

/** A Job whose namespace comes from a query value: the policy can only judge it rendered. */
export const PLACED_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  generateName: placed-
  namespace: "{{ns}}"
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: placed
          image: busybox
`;

/** A Secret: a denied kind, so its topic is unusable from the index build on. */
export const SECRET = `apiVersion: v1
kind: Secret
metadata:
  name: leaked-{{RANDOM}}
stringData:
  value: "{{MESSAGE}}"
`;

/** A ConfigMap named by a query value: only a rendered name can be judged. */
export const NAMED_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: "{{name}}"
data:
  message: "{{MESSAGE}}"
`;

/** The repository the web tests serve. */
export const WEB_FILES = {
  "config.json": configJson({
    echo: ["echo.yaml"],
    placed: ["placed.yaml"],
    secret: ["secret.yaml"],
    named: ["named.yaml"],
  }),
  "echo.yaml": ECHO_JOB,
  "placed.yaml": PLACED_JOB,
  "secret.yaml": SECRET,
  "named.yaml": NAMED_CONFIGMAP,
};
