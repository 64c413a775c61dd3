/**
 * Push deliveries as the Git hosts send them: payload shapes and headers, signed with tools
 * independent of the code under test (`@octokit/webhooks-methods` for GitHub, `node:crypto`
 * for Gitea, Forgejo and Gogs; GitLab sends the secret itself).
 *
 * GitHub payloads are the community examples of `@octokit/webhooks-examples`. GitLab's and
 * Gitea's are the push examples of their documentation, copied here.
 * @module
 */

import { createHmac } from "node:crypto";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { sign } from "@octokit/webhooks-methods";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The providers the tests deliver as. */
export type TestProvider = "github" | "gitlab" | "gitea" | "forgejo" | "gogs";

/** Every provider, for tests that run once per provider. */
export const PROVIDERS: readonly TestProvider[] = ["github", "gitlab", "gitea", "forgejo", "gogs"];

const ZERO_SHA = "0000000000000000000000000000000000000000";

function githubExample(event: string, pick: (payload: Json) => boolean): Json {
  const entry = (examples as Json[]).find((e) => e.name === event);
  const found = entry?.examples.find(pick);
  if (!found) throw new Error(`no ${event} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

/** GitHub's push to a branch (`refs/heads/master` of Codertocat/Hello-World). */
export function githubBranchPush(): Json {
  return githubExample("push", (p) => p.ref.startsWith("refs/heads/") && !p.deleted);
}

/** GitHub's push of a tag. */
export function githubTagPush(): Json {
  return githubExample("push", (p) => p.ref.startsWith("refs/tags/") && !p.deleted);
}

/** GitHub's ping, sent when a webhook is created. */
export function githubPing(): Json {
  return githubExample("ping", (p) => p.hook?.type === "Repository");
}

/** GitLab's push hook, from its documentation ("Push events"). */
export const GITLAB_PUSH: Json = {
  object_kind: "push",
  event_name: "push",
  before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
  after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  ref: "refs/heads/master",
  ref_protected: true,
  checkout_sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  message: "Hello World",
  user_id: 4,
  user_name: "John Smith",
  user_username: "jsmith",
  user_email: "john@example.com",
  user_avatar:
    "https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=8://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80",
  project_id: 15,
  project: {
    id: 15,
    name: "Diaspora",
    description: "",
    web_url: "http://example.com/mike/diaspora",
    avatar_url: null,
    git_ssh_url: "git@example.com:mike/diaspora.git",
    git_http_url: "http://example.com/mike/diaspora.git",
    namespace: "Mike",
    visibility_level: 0,
    path_with_namespace: "mike/diaspora",
    default_branch: "master",
    ci_config_path: null,
    homepage: "http://example.com/mike/diaspora",
    url: "git@example.com:mike/diaspora.git",
    ssh_url: "git@example.com:mike/diaspora.git",
    http_url: "http://example.com/mike/diaspora.git",
  },
  commits: [
    {
      id: "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
      message:
        "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
      title: "Update Catalan translation to e38cb41.",
      timestamp: "2011-12-12T14:27:31+02:00",
      url: "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
      author: { name: "Jordi Mallach", email: "jordi@softcatala.org" },
      added: ["CHANGELOG"],
      modified: ["app/controller/application.rb"],
      removed: [],
    },
    {
      id: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      message: "fixed readme",
      title: "fixed readme",
      timestamp: "2012-01-03T23:36:29+02:00",
      url: "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      author: { name: "GitLab dev user", email: "gitlabdev@dv6700.(none)" },
      added: ["CHANGELOG"],
      modified: ["app/controller/application.rb"],
      removed: [],
    },
  ],
  total_commits_count: 4,
  repository: {
    name: "Diaspora",
    url: "git@example.com:mike/diaspora.git",
    description: "",
    homepage: "http://example.com/mike/diaspora",
    git_http_url: "http://example.com/mike/diaspora.git",
    git_ssh_url: "git@example.com:mike/diaspora.git",
    visibility_level: 0,
  },
};

/** Gitea's push event, from its documentation ("Webhooks": event information). */
export const GITEA_PUSH: Json = {
  secret: "3gEsCfjlV2ugRwgpU#w1*WaW*wa4NXgGmpCfkbG3",
  ref: "refs/heads/develop",
  before: "28e1879d029cb852e4844d9c718537df08844e03",
  after: "bffeb74224043ba2feb48d137756c8a9331c449a",
  compare_url:
    "http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
  commits: [
    {
      id: "bffeb74224043ba2feb48d137756c8a9331c449a",
      message: "Webhooks Yay!",
      url: "http://localhost:3000/gitea/webhooks/commit/bffeb74224043ba2feb48d137756c8a9331c449a",
      author: { name: "Gitea", email: "someone@gitea.io", username: "gitea" },
      committer: { name: "Gitea", email: "someone@gitea.io", username: "gitea" },
      timestamp: "2017-03-13T13:52:11-04:00",
    },
  ],
  repository: {
    id: 140,
    owner: {
      id: 1,
      login: "gitea",
      full_name: "Gitea",
      email: "someone@gitea.io",
      avatar_url: "https://localhost:3000/avatars/1",
      username: "gitea",
    },
    name: "webhooks",
    full_name: "gitea/webhooks",
    description: "",
    private: false,
    fork: false,
    html_url: "http://localhost:3000/gitea/webhooks",
    ssh_url: "ssh://gitea@localhost:2222/gitea/webhooks.git",
    clone_url: "http://localhost:3000/gitea/webhooks.git",
    website: "",
    stars_count: 0,
    forks_count: 1,
    watchers_count: 1,
    open_issues_count: 7,
    default_branch: "master",
    created_at: "2017-02-26T04:29:06-05:00",
    updated_at: "2017-03-13T13:51:58-04:00",
  },
  pusher: {
    id: 1,
    login: "gitea",
    full_name: "Gitea",
    email: "someone@gitea.io",
    avatar_url: "https://localhost:3000/avatars/1",
    username: "gitea",
  },
  sender: {
    id: 1,
    login: "gitea",
    full_name: "Gitea",
    email: "someone@gitea.io",
    avatar_url: "https://localhost:3000/avatars/1",
    username: "gitea",
  },
};

/** What a test push says: where to, which commit, and of which repository. */
export interface PushSpec {
  /** Full ref; default `refs/heads/main`. */
  ref?: string;
  /** The pushed commit; default a fixed sha. */
  after?: string;
  /** The repository's HTTP clone URL (with or without `.git`). */
  repoUrl: string;
  /** A branch deletion: `after` all zeros, `deleted: true` where the provider sends it. */
  deleted?: boolean;
}

/** A fixed, valid commit id for pushes whose commit need not exist. */
export const SOME_SHA = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

/**
 * The provider's documented push payload, changed to say `spec`: every repository URL field is
 * rewritten to the same repository in that field's form (clone, web, SSH).
 */
export function pushPayload(provider: TestProvider, spec: PushSpec): Json {
  const ref = spec.ref ?? "refs/heads/main";
  const after = spec.deleted ? ZERO_SHA : spec.after ?? SOME_SHA;
  const clone = spec.repoUrl.endsWith(".git") ? spec.repoUrl : `${spec.repoUrl}.git`;
  const web = clone.slice(0, -".git".length);
  const url = new URL(clone);
  const ssh = `git@${url.hostname}:${url.pathname.slice(1)}`;
  const sshUrl = `ssh://git@${url.hostname}:2222${url.pathname}`;
  if (provider === "gitlab") {
    const payload = structuredClone(GITLAB_PUSH);
    Object.assign(payload, { ref, after, checkout_sha: spec.deleted ? null : after });
    Object.assign(payload.project, {
      web_url: web,
      git_ssh_url: ssh,
      git_http_url: clone,
      homepage: web,
      url: ssh,
      ssh_url: ssh,
      http_url: clone,
    });
    Object.assign(payload.repository, {
      url: ssh,
      homepage: web,
      git_http_url: clone,
      git_ssh_url: ssh,
    });
    return payload;
  }
  if (provider === "github") {
    const payload = githubBranchPush();
    Object.assign(payload, { ref, after, deleted: !!spec.deleted, created: false });
    Object.assign(payload.repository, {
      html_url: web,
      url: web,
      clone_url: clone,
      ssh_url: ssh,
      git_url: `git://${url.hostname}${url.pathname}`,
    });
    return payload;
  }
  const payload = structuredClone(GITEA_PUSH);
  Object.assign(payload, { ref, after });
  Object.assign(payload.repository, { html_url: web, ssh_url: sshUrl, clone_url: clone });
  return payload;
}

/** How a test delivery is sent. */
export interface DeliveryOptions {
  /** The secret it is signed with; undefined: not signed at all. */
  secret?: string;
  /** Event name; default the provider's push event. */
  event?: string;
  /** Delivery id; default a fresh UUID. */
  id?: string;
  /** Content type; default `application/json`. */
  contentType?: string;
  /** Replaces the signature header's value. */
  signature?: string;
}

/** The provider's name for a push event. */
export function pushEvent(provider: TestProvider): string {
  return provider === "gitlab" ? "Push Hook" : "push";
}

/**
 * The headers a provider sends with `body`, signed with `options.secret` by independent
 * code. Gitea and Forgejo send their compatibility headers (Gogs', GitHub's) as well.
 */
export async function deliveryHeaders(
  provider: TestProvider,
  body: string,
  options: DeliveryOptions = {},
): Promise<Record<string, string>> {
  const id = options.id ?? crypto.randomUUID();
  const event = options.event ?? pushEvent(provider);
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
  };
  const { secret } = options;
  const hmac = (algorithm: string) =>
    secret === undefined ? undefined : createHmac(algorithm, secret).update(body).digest("hex");
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) headers[name] = value;
  };
  if (provider === "github") {
    headers["user-agent"] = "GitHub-Hookshot/a1b2c3d";
    headers["x-github-event"] = event;
    headers["x-github-delivery"] = id;
    headers["x-github-hook-id"] = "42";
    put("x-hub-signature", secret === undefined ? undefined : `sha1=${hmac("sha1")}`);
    // @octokit/webhooks-methods refuses an empty payload: node:crypto signs that one.
    const sha256 = secret === undefined
      ? undefined
      : body === ""
      ? `sha256=${hmac("sha256")}`
      : await sign(secret, body);
    put("x-hub-signature-256", sha256);
    put("x-hub-signature-256", options.signature);
    return headers;
  }
  if (provider === "gitlab") {
    headers["user-agent"] = "GitLab/17.0.0";
    headers["x-gitlab-event"] = event;
    headers["x-gitlab-event-uuid"] = id;
    headers["x-gitlab-webhook-uuid"] = "a1b2c3d4-0000-4000-8000-000000000001";
    headers["x-gitlab-instance"] = "https://gitlab.example.com";
    put("x-gitlab-token", options.signature ?? secret);
    return headers;
  }
  const families = provider === "forgejo"
    ? ["forgejo", "gitea", "gogs"]
    : provider === "gitea"
    ? ["gitea", "gogs"]
    : ["gogs"];
  headers["user-agent"] = provider === "gogs" ? "Gogs" : "Go-http-client/1.1";
  for (const family of families) {
    headers[`x-${family}-event`] = event;
    headers[`x-${family}-event-type`] = event;
    headers[`x-${family}-delivery`] = id;
    put(`x-${family}-signature`, options.signature ?? hmac("sha256"));
  }
  if (provider !== "gogs") {
    // Gitea and Forgejo also send GitHub's headers.
    headers["x-github-event"] = event;
    headers["x-github-event-type"] = event;
    headers["x-github-delivery"] = id;
    put("x-hub-signature", secret === undefined ? undefined : `sha1=${hmac("sha1")}`);
    put("x-hub-signature-256", secret === undefined ? undefined : `sha256=${hmac("sha256")}`);
  }
  return headers;
}
