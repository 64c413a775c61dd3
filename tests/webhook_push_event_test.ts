/** The decision about a verified delivery, from documented payloads of each provider. */

import { assertEquals } from "./support/assert.ts";
import {
  githubPing,
  githubTagPush,
  PROVIDERS,
  pushEvent,
  pushPayload,
  SOME_SHA,
} from "./support/webhook_payloads.ts";
import { decidePush } from "../src/webhook/push_event.ts";

const GIT_URL = "https://git.example.com/team/pipelines.git";
const followed = { repoUrl: GIT_URL, branch: "main" };

for (const provider of PROVIDERS) {
  const decide = (payload: unknown, event = pushEvent(provider)) =>
    decidePush({ provider, event, payload }, followed);

  Deno.test(`${provider}: a push to the followed branch syncs to its commit`, () => {
    assertEquals(decide(pushPayload(provider, { repoUrl: GIT_URL })), {
      action: "sync",
      ref: "refs/heads/main",
      after: SOME_SHA,
    });
    // The payload's URLs may be written in any form of the same repository.
    assertEquals(
      decide(pushPayload(provider, { repoUrl: "http://GIT.example.com/Team/Pipelines" })).action,
      "sync",
    );
  });

  Deno.test(`${provider}: other branches, tags, deletions and repositories are ignored`, () => {
    const cases: [string, unknown, string][] = [
      [
        "other branch",
        pushPayload(provider, { repoUrl: GIT_URL, ref: "refs/heads/feature" }),
        "refs/heads/feature, not to the followed refs/heads/main",
      ],
      [
        "branch with the name as a prefix",
        pushPayload(provider, { repoUrl: GIT_URL, ref: "refs/heads/main-old" }),
        "not to the followed",
      ],
      ["tag", pushPayload(provider, { repoUrl: GIT_URL, ref: "refs/tags/v1" }), "is a tag"],
      [
        "tag named like the branch",
        pushPayload(provider, { repoUrl: GIT_URL, ref: "refs/tags/main" }),
        "is a tag",
      ],
      ["deletion", pushPayload(provider, { repoUrl: GIT_URL, deleted: true }), "was deleted"],
      [
        "other repository",
        pushPayload(provider, { repoUrl: "https://git.example.com/team/other.git" }),
        "not to the followed repository",
      ],
      [
        "same name on another host",
        pushPayload(provider, { repoUrl: "https://git.example.org/team/pipelines.git" }),
        "not to the followed repository",
      ],
    ];
    for (const [name, payload, reason] of cases) {
      const decision = decide(payload);
      assertEquals(decision.action, "ignore", name);
      if (decision.action === "ignore") {
        assertEquals(decision.reason.includes(reason), true, `${name}: ${decision.reason}`);
      }
    }
  });

  Deno.test(`${provider}: other events are ignored and pings answered`, () => {
    const payload = pushPayload(provider, { repoUrl: GIT_URL });
    const other = provider === "gitlab" ? "Merge Request Hook" : "pull_request";
    assertEquals(decide(payload, other).action, "ignore");
    assertEquals(decide({}, "ping"), { action: "ping" });
  });

  Deno.test(`${provider}: payloads that are not what a push promises are invalid`, () => {
    const good = pushPayload(provider, { repoUrl: GIT_URL });
    const without = (key: string) => {
      const copy = structuredClone(good);
      delete copy[key];
      return copy;
    };
    const cases: [string, unknown][] = [
      ["array", []],
      ["string", "push"],
      ["null", null],
      ["no ref", without("ref")],
      ["no after", without("after")],
      ["bad after", { ...good, after: "HEAD" }],
      ["no repository", without(provider === "gitlab" ? "project" : "repository")],
    ];
    for (const [name, payload] of cases) {
      let decision = decide(payload);
      if (name === "no repository" && provider === "gitlab") {
        // GitLab's payload names the repository twice: take both away.
        const copy = without("project");
        delete copy.repository;
        decision = decide(copy);
      }
      assertEquals(decision.action, "invalid", `${name}: ${JSON.stringify(decision)}`);
    }
  });
}

Deno.test("GitHub's own examples: a tag push is ignored, a ping answered", () => {
  const tag = githubTagPush();
  const decision = decidePush({ provider: "github", event: "push", payload: tag }, {
    repoUrl: tag.repository.clone_url,
    branch: "master",
  });
  assertEquals(decision.action, "ignore");
  assertEquals(
    decidePush({ provider: "github", event: "ping", payload: githubPing() }, followed),
    { action: "ping" },
  );
});

Deno.test("GitLab's documented push, as documented, syncs when its repository is followed", () => {
  const payload = pushPayload("gitlab", { repoUrl: "http://example.com/mike/diaspora.git" });
  const decision = decidePush({ provider: "gitlab", event: "Push Hook", payload }, {
    repoUrl: "https://example.com/mike/diaspora.git",
    branch: "main",
  });
  assertEquals(decision.action, "sync");
  // A tag push comes as its own event.
  assertEquals(
    decidePush({ provider: "gitlab", event: "Tag Push Hook", payload }, followed).action,
    "ignore",
  );
  // A system hook carrying a non-push object is ignored.
  assertEquals(
    decidePush({
      provider: "gitlab",
      event: "System Hook",
      payload: { ...payload, object_kind: "merge_request" },
    }, { repoUrl: "https://example.com/mike/diaspora.git", branch: "main" }).action,
    "ignore",
  );
});
