/**
 * The check step of a publish: every settled object against the policy, before the first
 * write, so a refused publish applies nothing.
 * @module
 */

import { type Policy, policyViolation } from "../policy/policy.ts";
import { PublishError } from "./errors.ts";
import type { Rendered } from "./render.ts";

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
