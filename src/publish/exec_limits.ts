/**
 * What a container can be started with. A pod's environment variables and arguments reach its
 * process through `execve`, and Linux refuses one longer than `MAX_ARG_STRLEN` (32 pages,
 * 131072 bytes with its final NUL) or a total beyond a share of the stack: the container would
 * be created, then fail to start (`argument list too long`) again and again. `{{MESSAGE}}` is
 * the usual culprit, its base64 being a third longer than the body. Checked on rendered objects,
 * before anything is applied.
 * @module
 */

import { utf8Length } from "../lib/bytes.ts";
import { isRecord } from "../lib/objects.ts";

/** Longest environment entry (`NAME=value`) or argument a process can get, in bytes. */
export const MAX_EXEC_STRING_BYTES = 131_071;
/**
 * Most bytes of environment and arguments of one pod's containers together. Linux allows a
 * quarter of the stack limit (2 MiB with the usual 8 MiB) per process, and the image's own
 * environment and the service links Kubernetes adds take their share: a conservative bound.
 */
export const MAX_POD_EXEC_BYTES = 1_048_576;

const CONTAINER_LISTS = ["initContainers", "containers", "ephemeralContainers"] as const;

/**
 * Why a container of `object` could not start with what it was rendered with, one line each;
 * empty when every one can. Every pod spec in the object is found (anything with a `containers`
 * list: pods, the templates of Jobs, Deployments and CronJobs, custom resources carrying one).
 */
export function execLimitProblems(object: unknown): string[] {
  const problems: string[] = [];
  for (const pod of podSpecs(object)) {
    let total = 0;
    for (const list of CONTAINER_LISTS) {
      const containers = pod[list];
      if (!Array.isArray(containers)) continue;
      for (const container of containers) {
        if (isRecord(container)) total += containerExecBytes(container, problems);
      }
    }
    if (total > MAX_POD_EXEC_BYTES) {
      problems.push(
        `the environment variables and arguments of its containers add up to ${total} bytes, ` +
          `more than the ${MAX_POD_EXEC_BYTES} a pod may start with`,
      );
    }
  }
  return problems;
}

/**
 * The bytes `container`'s environment entries and arguments take (each with its NUL), adding
 * to `problems` each one longer than a process can get. A label is written only for a problem:
 * every publish checks every entry.
 */
function containerExecBytes(container: Record<string, unknown>, problems: string[]): number {
  let total = 0;
  // `key`: the variable's name for `env`, the item's index for `command` and `args`.
  const check = (bytes: number, list: "env" | "command" | "args", key: string | number) => {
    total += bytes + 1;
    if (bytes <= MAX_EXEC_STRING_BYTES) return;
    const where = `container "${String(container.name ?? "?").slice(0, 63)}"`;
    const label = list === "env"
      ? `environment variable ${String(key).slice(0, 63)} (as NAME=value)`
      : `${list}[${key}]`;
    problems.push(
      `${where}: ${label} would be ${bytes} bytes, more than the ${MAX_EXEC_STRING_BYTES} ` +
        `Linux starts a process with (MAX_ARG_STRLEN)`,
    );
  };
  if (Array.isArray(container.env)) {
    for (const entry of container.env) {
      if (!isRecord(entry) || typeof entry.value !== "string") continue;
      const name = typeof entry.name === "string" ? entry.name : "";
      check(utf8Length(name) + 1 + utf8Length(entry.value), "env", name);
    }
  }
  for (const list of ["command", "args"] as const) {
    const items = container[list];
    if (!Array.isArray(items)) continue;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item === "string") check(utf8Length(item), list, i);
    }
  }
  return total;
}

/** Every record in `object` that holds a `containers` list. */
function* podSpecs(object: unknown): Generator<Record<string, unknown>> {
  const pending: unknown[] = [object];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isRecord(node) && Array.isArray(node.containers)) yield node;
    // Only what may hold a pod spec is visited, one push each (spreading a list of 100,000
    // items would overflow the call stack): a ConfigMap's data costs one look per key.
    // `for…in`: no array of values per object (an own `__proto__` key reads as itself).
    if (Array.isArray(node)) {
      for (const child of node) {
        if (typeof child === "object" && child !== null) pending.push(child);
      }
    } else if (isRecord(node)) {
      for (const key in node) {
        const child = node[key];
        if (typeof child === "object" && child !== null) pending.push(child);
      }
    }
  }
}
