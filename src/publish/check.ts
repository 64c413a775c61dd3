/**
 * The check steps of a publish, on rendered objects, before the first request that names them:
 * names and namespaces the API server accepts (they become request paths), values a container
 * can start with, then the policy on settled objects. A refused publish applies nothing.
 * @module
 */

import { identityProblems } from "../kube/names.ts";
import { type Policy, policyViolation } from "../policy/policy.ts";
import { PublishError } from "./errors.ts";
import { execLimitProblems } from "./exec_limits.ts";
import type { Rendered } from "./render.ts";

/** `file: document N (Kind "name")`: where a rendered object came from, for messages. */
export function describeRendered(item: Rendered): string {
  const document = Number(item.where.split(":")[1]) + 1;
  const name = item.object.metadata?.name ?? item.object.metadata?.generateName;
  const named = typeof name === "string" && name !== "" ? ` "${name.slice(0, 64)}"` : "";
  return `${item.manifest}: document ${document} (${item.object.kind}${named})`;
}

/**
 * Throws an `invalid-object` {@linkcode PublishError} naming every rendered object whose name,
 * `generateName` or namespace breaks the API server's rules: such a name would become another
 * request path (`..` is the parent collection), so none of the publish is sent.
 */
export function checkIdentities(rendered: Rendered[]): void {
  const problems = rendered.flatMap((item) =>
    identityProblems(item.object.metadata ?? {}).map((p) => `${describeRendered(item)}: ${p}`)
  );
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : "";
  throw new PublishError(`${problems[0]}${more}; nothing was applied`, {
    reason: "invalid-object",
    details: { problems },
  });
}

/**
 * Throws a `too-large` {@linkcode PublishError} naming every container that could not start with
 * what it was rendered with (an environment variable or argument longer than Linux allows, or
 * too many bytes of them in one pod), before anything is applied: the API server would store
 * such a pod, and it would fail to start again and again.
 */
export function checkExecLimits(rendered: Rendered[]): void {
  const problems = rendered.flatMap((item) =>
    execLimitProblems(item.object).map((p) => `${describeRendered(item)}: ${p}`)
  );
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : "";
  throw new PublishError(
    `${problems[0]}${more}; nothing was applied. A value this large cannot reach a process ` +
      `through its environment or arguments: send a smaller body, or have the template put it ` +
      `in a file (a ConfigMap mounted as a volume)`,
    { reason: "too-large", details: { problems } },
  );
}

/**
 * Throws a `policy` {@linkcode PublishError} for the first object the policy refuses;
 * `namespaced[i]` says whether `rendered[i]`'s kind lives in a namespace.
 */
export function checkPolicy(policy: Policy, rendered: Rendered[], namespaced: boolean[]): void {
  rendered.forEach((item, i) => {
    const object = item.object;
    const violation = policyViolation(policy, {
      apiVersion: object.apiVersion,
      kind: object.kind,
      namespace: object.metadata?.namespace,
      namespaced: namespaced[i],
      object,
    });
    if (!violation) return;
    const name = object.metadata?.name ?? object.metadata?.generateName;
    throw new PublishError(
      `${item.manifest}: ${object.kind} "${name}": ${violation}; nothing was applied`,
      { reason: "policy" },
    );
  });
}
