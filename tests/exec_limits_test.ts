/**
 * What a container can start with: the byte limits of one environment entry or argument and of
 * a pod's total, counted in UTF-8 as the kernel counts them, wherever a pod spec sits.
 */

import fc from "fast-check";
import { assertEquals, assertStringIncludes } from "./support/assert.ts";
import { utf8Length } from "../src/lib/bytes.ts";
import {
  execLimitProblems,
  MAX_EXEC_STRING_BYTES,
  MAX_POD_EXEC_BYTES,
} from "../src/publish/exec_limits.ts";

function job(env: { name: string; value: string }[], args: string[] = []) {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    spec: { template: { spec: { containers: [{ name: "step", image: "x", env, args }] } } },
  };
}

Deno.test("an environment entry is limited as NAME=value, to MAX_ARG_STRLEN less its NUL", () => {
  const fits = "x".repeat(MAX_EXEC_STRING_BYTES - "MESSAGE=".length);
  assertEquals(execLimitProblems(job([{ name: "MESSAGE", value: fits }])), []);
  const [problem] = execLimitProblems(job([{ name: "MESSAGE", value: fits + "x" }]));
  assertStringIncludes(problem, 'container "step": environment variable MESSAGE');
  assertStringIncludes(problem, `would be ${MAX_EXEC_STRING_BYTES + 1} bytes`);
  // Bytes, not characters: 'é' is two.
  const accented = "é".repeat(MAX_EXEC_STRING_BYTES / 2);
  assertEquals(execLimitProblems(job([{ name: "A", value: accented }])).length, 1);
});

Deno.test("arguments and commands, init containers, CronJobs and custom resources are checked", () => {
  const long = "x".repeat(MAX_EXEC_STRING_BYTES + 1);
  assertStringIncludes(execLimitProblems(job([], ["--m", long]))[0], "args[1]");
  const cronJob = {
    kind: "CronJob",
    spec: {
      jobTemplate: {
        spec: {
          template: {
            spec: { initContainers: [{ name: "init", command: [long] }], containers: [] },
          },
        },
      },
    },
  };
  assertStringIncludes(execLimitProblems(cronJob)[0], 'container "init": command[0]');
  const custom = {
    kind: "Workflow",
    spec: { steps: [{ pod: { containers: [{ args: [long] }] } }] },
  };
  assertEquals(execLimitProblems(custom).length, 1);
  // A pod spec under a `__proto__` key (an own property in JSON and YAML) is found too.
  const hidden = JSON.parse(
    `{"kind":"Workflow","spec":{"__proto__":{"containers":[{"args":["${long}"]}]}}}`,
  );
  assertEquals(execLimitProblems(hidden).length, 1);
  // A ConfigMap holds data, not a process's environment.
  assertEquals(execLimitProblems({ kind: "ConfigMap", data: { message: long } }), []);
});

Deno.test("a pod's environment and arguments together are bounded", () => {
  const value = "x".repeat(120_000);
  const env = Array.from({ length: 9 }, (_, i) => ({ name: `M${i}`, value }));
  const problems = execLimitProblems(job(env));
  assertEquals(problems.length, 1);
  assertStringIncludes(problems[0], `more than the ${MAX_POD_EXEC_BYTES} a pod may start with`);
  assertEquals(execLimitProblems(job(env.slice(0, 8))), []);
});

Deno.test("utf8Length is TextEncoder's length", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      assertEquals(utf8Length(text), new TextEncoder().encode(text).byteLength);
    }),
    { numRuns: 2000 },
  );
});
