/**
 * What to do with a verified delivery, decided from its event name and parsed payload alone:
 * answer a ping, sync for a push to the followed branch of the followed repository, or
 * ignore it and say why. Pure.
 * @module
 */

import type { Provider } from "./providers.ts";
import { repoKey } from "./repo_url.ts";
import { isRecord } from "../lib/objects.ts";

/** The decision about one delivery. */
export type PushDecision =
  | { action: "ping" }
  /** Sync until `after` is the live revision. */
  | { action: "sync"; ref: string; after: string }
  | { action: "ignore"; reason: string }
  /** The payload is not what its event promises (answered 400). */
  | { action: "invalid"; reason: string };

/** What the router follows. */
export interface FollowedBranch {
  /** `GIT_URL`. */
  repoUrl: string;
  /** `GIT_BRANCH`, without `refs/heads/`. */
  branch: string;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ZERO = /^0+$/;

/**
 * Decides what a delivery asks for.
 *
 * ```ts
 * decidePush({ provider: "github", event: "push", payload }, {
 *   repoUrl: "https://github.com/octo/pipelines.git", branch: "main",
 * }); // { action: "sync", ref: "refs/heads/main", after: "…" }
 * ```
 */
export function decidePush(
  delivery: { provider: Provider; event: string; payload: unknown },
  followed: FollowedBranch,
): PushDecision {
  const { provider, event, payload } = delivery;
  if (event.toLowerCase() === "ping") return { action: "ping" };
  if (!isPushEvent(provider, event)) {
    return { action: "ignore", reason: `${event} events do not change the repository` };
  }
  if (!isRecord(payload)) return { action: "invalid", reason: "the payload is not a JSON object" };
  if (
    provider === "gitlab" && payload.object_kind !== undefined && payload.object_kind !== "push"
  ) {
    return { action: "ignore", reason: `object_kind ${String(payload.object_kind)} is not a push` };
  }

  const urls = repositoryUrls(provider, payload);
  if (urls.length === 0) {
    return { action: "invalid", reason: "the payload names no repository URL" };
  }
  const followedKey = repoKey(followed.repoUrl);
  if (!urls.some((url) => repoKey(url) === followedKey)) {
    return {
      action: "ignore",
      reason: `the push is to ${urls[0]}, not to the followed repository ${followed.repoUrl}`,
    };
  }

  const ref = payload.ref;
  if (typeof ref !== "string" || ref === "") {
    return { action: "invalid", reason: "the payload has no ref" };
  }
  if (ref.startsWith("refs/tags/")) {
    return { action: "ignore", reason: `${ref} is a tag; only the branch is followed` };
  }
  const wanted = `refs/heads/${followed.branch}`;
  if (ref !== wanted) {
    return { action: "ignore", reason: `the push is to ${ref}, not to the followed ${wanted}` };
  }
  const after = typeof payload.after === "string" ? payload.after.toLowerCase() : "";
  if (payload.deleted === true || ZERO.test(after)) {
    return { action: "ignore", reason: `${ref} was deleted; the last good index keeps serving` };
  }
  if (!SHA.test(after)) {
    return { action: "invalid", reason: "the payload's after is not a commit id" };
  }
  return { action: "sync", ref, after };
}

function isPushEvent(provider: Provider, event: string): boolean {
  if (provider === "gitlab") return event === "Push Hook" || event === "System Hook";
  return event === "push";
}

/** Every URL the payload gives for its repository, in the order they are shown in messages. */
function repositoryUrls(provider: Provider, payload: Record<string, unknown>): string[] {
  const pick = (holder: unknown, keys: string[]) =>
    isRecord(holder)
      ? keys.map((k) => holder[k]).filter((v): v is string => typeof v === "string" && v !== "")
      : [];
  if (provider === "gitlab") {
    return [
      ...pick(payload.project, ["git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url"]),
      ...pick(payload.repository, ["git_http_url", "git_ssh_url", "homepage", "url"]),
    ];
  }
  return pick(payload.repository, ["clone_url", "html_url", "ssh_url", "git_url", "url"]);
}
