/**
 * Which Git host sent a delivery, told by its headers, and what the headers say: the event,
 * the delivery id and the signature. Pure: no body is read here.
 *
 * Gitea and Forgejo also send GitHub's and Gogs' headers for compatibility, so the most
 * specific family is looked for first: Forgejo, Gitea, Gogs, GitLab, then GitHub.
 * @module
 */

/** The Git hosts whose deliveries are understood. */
export type Provider = "github" | "gitlab" | "gitea" | "forgejo" | "gogs";

/** How a delivery proves it knows the secret. */
export type DeliverySignature =
  /** HMAC-SHA256 of the raw body, as hex. */
  | { kind: "hmac-sha256"; header: string; hex: string }
  /** The secret itself, sent as a header (GitLab). */
  | { kind: "token"; header: string; token: string }
  /** A signature header is there but not in the expected form. */
  | { kind: "malformed"; header: string; problem: string }
  /** No signature header at all. */
  | { kind: "missing"; expected: string; problem: string };

/** What the headers of a delivery say. */
export interface DeliveryHeaders {
  provider: Provider;
  /** The event name as the provider spells it (`push`, `ping`, `Push Hook`…). */
  event: string;
  /** The provider's unique id of this delivery, or null when it sent none. */
  id: string | null;
  signature: DeliverySignature;
}

type HmacFamily = { provider: Provider; prefix: string };

// Most specific first: Forgejo sends X-Gitea-* and X-Gogs-* as well, Gitea sends X-Gogs-*, and
// both send X-GitHub-Event.
const HMAC_FAMILIES: HmacFamily[] = [
  { provider: "forgejo", prefix: "x-forgejo" },
  { provider: "gitea", prefix: "x-gitea" },
  { provider: "gogs", prefix: "x-gogs" },
];

/**
 * Reads the provider, event, delivery id and signature from a delivery's headers; null when
 * the headers are not those of any supported provider.
 */
export function readDeliveryHeaders(headers: Headers): DeliveryHeaders | null {
  for (const family of HMAC_FAMILIES) {
    const event = headers.get(`${family.prefix}-event`);
    if (event === null) continue;
    // Forgejo and Gitea sign in every family they send; use the first signature present.
    const signatureHeader = HMAC_FAMILIES.map((f) => `${f.prefix}-signature`)
      .find((name) => headers.get(name) !== null);
    return {
      provider: family.provider,
      event: event.trim(),
      id: nonEmpty(headers.get(`${family.prefix}-delivery`)),
      signature: signatureHeader === undefined
        ? missing(`${titleCase(family.prefix)}-Signature`)
        : hexSignature(signatureHeader, headers.get(signatureHeader)!, ""),
    };
  }

  const gitlabEvent = headers.get("x-gitlab-event");
  if (gitlabEvent !== null) {
    const token = headers.get("x-gitlab-token");
    return {
      provider: "gitlab",
      event: gitlabEvent.trim(),
      id: nonEmpty(headers.get("x-gitlab-event-uuid")),
      signature: token === null
        ? missing("X-Gitlab-Token")
        : { kind: "token", header: "X-Gitlab-Token", token },
    };
  }

  const githubEvent = headers.get("x-github-event");
  if (githubEvent !== null) {
    const value = headers.get("x-hub-signature-256");
    let signature: DeliverySignature;
    if (value !== null) signature = hexSignature("X-Hub-Signature-256", value, "sha256=");
    else if (headers.get("x-hub-signature") !== null) {
      signature = {
        kind: "missing",
        expected: "X-Hub-Signature-256",
        problem:
          "the delivery is signed only with SHA-1 (X-Hub-Signature); gitfaas needs X-Hub-Signature-256",
      };
    } else signature = missing("X-Hub-Signature-256");
    return {
      provider: "github",
      event: githubEvent.trim(),
      id: nonEmpty(headers.get("x-github-delivery")),
      signature,
    };
  }
  return null;
}

function hexSignature(header: string, value: string, prefix: string): DeliverySignature {
  const name = header.startsWith("x-") ? titleCase(header) : header;
  const text = value.trim();
  if (prefix && !text.toLowerCase().startsWith(prefix)) {
    return { kind: "malformed", header: name, problem: `${name} must start with "${prefix}"` };
  }
  const hex = text.slice(prefix.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    return {
      kind: "malformed",
      header: name,
      problem: `${name} must be ${prefix}<64 hex digits of HMAC-SHA256>`,
    };
  }
  return { kind: "hmac-sha256", header: name, hex };
}

function missing(expected: string): DeliverySignature {
  return {
    kind: "missing",
    expected,
    problem: `the delivery is not signed (no ${expected} header): set the webhook's secret`,
  };
}

function nonEmpty(value: string | null): string | null {
  const text = value?.trim();
  return text ? text : null;
}

/** `x-gitea-signature` → `X-Gitea-Signature`, for messages. */
function titleCase(header: string): string {
  return header.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}
