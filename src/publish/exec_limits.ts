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
        if (!isRecord(container)) continue;
        const where = `container "${String(container.name ?? "?").slice(0, 63)}"`;
        for (const [label, bytes] of execStrings(container)) {
          total += bytes + 1;
          if (bytes > MAX_EXEC_STRING_BYTES) {
            problems.push(
              `${where}: ${label} would be ${bytes} bytes, more than the ${MAX_EXEC_STRING_BYTES} ` +
                `Linux starts a process with (MAX_ARG_STRLEN)`,
            );
          }
        }
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

/** Each environment entry and argument of `container`: how it is named, and its length. */
function* execStrings(container: Record<string, unknown>): Generator<[string, number]> {
  if (Array.isArray(container.env)) {
    for (const entry of container.env) {
      if (!isRecord(entry) || typeof entry.value !== "string") continue;
      const name = typeof entry.name === "string" ? entry.name : "";
      yield [
        `environment variable ${name.slice(0, 63)} (as NAME=value)`,
        utf8Length(name) + 1 + utf8Length(entry.value),
      ];
    }
  }
  for (const list of ["command", "args"] as const) {
    const items = container[list];
    if (!Array.isArray(items)) continue;
    for (const [i, item] of items.entries()) {
      if (typeof item === "string") yield [`${list}[${i}]`, utf8Length(item)];
    }
  }
}

/** Every record in `object` that holds a `containers` list. */
function* podSpecs(object: unknown): Generator<Record<string, unknown>> {
  const pending: unknown[] = [object];
  while (pending.length > 0) {
    const node = pending.pop();
    if (isRecord(node) && Array.isArray(node.containers)) yield node;
    // Only what may hold a pod spec is visited, one push each (spreading a list of 100,000
    // items would overflow the call stack): a ConfigMap's data costs one look per key.
    const children = Array.isArray(node) ? node : isRecord(node) ? Object.values(node) : [];
    for (const child of children) {
      if (typeof child === "object" && child !== null) pending.push(child);
    }
  }
}
