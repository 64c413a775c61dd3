/**
 * The pipeline repository the publish benchmark serves: topic `job` applies one Job, topic
 * `three` a ConfigMap and two Jobs (three manifest files). The same template texts feed the
 * router (through Git) and the upstream-style server (through `Mustache.render`).
 * @module
 */

import { configJson, ECHO_JOB, INPUT_CONFIG_MAP } from "../../tests/support/fixtures.ts";

/** A second Job, as the next step of a pipeline would be. */
export const NOTIFY_JOB = ECHO_JOB.replace("echo-{{RANDOM}}", "notify-{{RANDOM}}");

/** Topic name → manifest files, in order. */
export const TOPICS: Record<string, string[]> = {
  job: ["echo.yaml"],
  three: ["input.yaml", "echo.yaml", "notify.yaml"],
};

/** Every file of the repository. */
export const FILES: Record<string, string> = {
  "config.json": configJson(TOPICS),
  "echo.yaml": ECHO_JOB,
  "input.yaml": INPUT_CONFIG_MAP,
  "notify.yaml": NOTIFY_JOB,
};

/** The body and query every benchmark publish sends. */
export const PUBLISH = {
  body: JSON.stringify({ source: "bench", object: "s3://bucket/input-0001.csv", size: 1024 }),
  query: "?replicas=1&greeting=hello",
  headers: { "content-type": "application/json" },
};
