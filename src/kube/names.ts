/**
 * The rules the API server sets on object names and namespaces (RFC 1123), checked before a
 * name becomes a segment of a request path. A name is data from a request; as a path segment
 * `..` would climb to the parent collection and `""` would name the collection itself, so a
 * name that breaks these rules never reaches a path.
 * @module
 */

/** Longest object name (a DNS-1123 subdomain). */
export const MAX_NAME_LENGTH = 253;
/** Longest namespace name (a DNS-1123 label). */
export const MAX_NAMESPACE_LENGTH = 63;
/** Characters added to a `generateName` prefix, by the API server and by the router alike. */
export const GENERATED_SUFFIX_LENGTH = 5;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `text` is a DNS-1123 subdomain: what most kinds accept as a name. */
export function isDnsSubdomain(text: string): boolean {
  return text.length <= MAX_NAME_LENGTH && DNS_SUBDOMAIN.test(text);
}

/** Whether `text` is a DNS-1123 label: what a namespace name must be. */
export function isDnsLabel(text: string): boolean {
  return text.length <= MAX_NAMESPACE_LENGTH && DNS_LABEL.test(text);
}

/**
 * Whether `text` is an apiVersion: `v1` (the core group) or `group/version`, the group a
 * DNS-1123 subdomain and the version a DNS-1123 label, as the API server serves them.
 */
export function isApiVersion(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash === -1) return isDnsLabel(text);
  return isDnsSubdomain(text.slice(0, slash)) && isDnsLabel(text.slice(slash + 1));
}

/** Whether `text` is a kind: a letter, then letters and digits (`Job`, `ConfigMap`). */
export function isKind(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9]{0,62}$/.test(text);
}

/** The identifying fields of an object's metadata, as rendered: anything at all. */
export interface MetadataIdentity {
  name?: unknown;
  generateName?: unknown;
  namespace?: unknown;
}

const NAME_RULE = "lowercase letters, digits, '-' and '.', starting and ending with a letter " +
  `or digit, at most ${MAX_NAME_LENGTH} characters`;
const NAMESPACE_RULE = "lowercase letters, digits and '-', starting and ending with a letter " +
  `or digit, at most ${MAX_NAMESPACE_LENGTH} characters`;

/**
 * Why `metadata`'s name, `generateName` or namespace cannot be used, one line each; empty when
 * they can. A name must be a DNS-1123 subdomain, a `generateName` prefix one once the suffix is
 * added, and a namespace, when written, a DNS-1123 label. A missing (or null) namespace is left
 * to defaulting.
 *
 * @example
 * ```ts
 * identityProblems({ name: ".." }); // ['metadata.name ".." is not a valid name: …']
 * ```
 */
export function identityProblems(metadata: MetadataIdentity): string[] {
  const problems: string[] = [];
  const { name, generateName, namespace } = metadata;
  if (name !== undefined && name !== null && name !== "") {
    if (typeof name !== "string") {
      problems.push(`metadata.name must be a string, not ${typeof name} ${shown(name)}`);
    } else if (!isDnsSubdomain(name)) {
      problems.push(`metadata.name ${shown(name)} is not a valid name: ${NAME_RULE}`);
    }
  } else if (generateName !== undefined && generateName !== null && generateName !== "") {
    if (typeof generateName !== "string") {
      problems.push(`metadata.generateName must be a string, not ${typeof generateName}`);
    } else if (!isDnsSubdomain(`${generateName}${"x".repeat(GENERATED_SUFFIX_LENGTH)}`)) {
      problems.push(
        `metadata.generateName ${shown(generateName)} is not a valid name prefix: with ` +
          `${GENERATED_SUFFIX_LENGTH} characters added it must be a name (${NAME_RULE})`,
      );
    }
  } else {
    problems.push(
      name === ""
        ? "metadata.name is empty, and there is no metadata.generateName"
        : "it has neither metadata.name nor metadata.generateName",
    );
  }
  if (namespace !== undefined && namespace !== null) {
    if (typeof namespace !== "string") {
      problems.push(`metadata.namespace must be a string, not ${typeof namespace}`);
    } else if (namespace === "") {
      problems.push("metadata.namespace is empty: name one, or leave the field out");
    } else if (!isDnsLabel(namespace)) {
      problems.push(`metadata.namespace ${shown(namespace)} is not a namespace: ${NAMESPACE_RULE}`);
    }
  }
  return problems;
}

/** A value quoted for a message, cut short: a name may hold a whole request body. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 80 ? text : `${text.slice(0, 64)}…" (${String(value).length} characters)`;
}
