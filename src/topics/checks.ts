/**
 * Checks every compiled manifest template must pass before its commit can serve. The router's
 * index build and `validate` both run them, so the two never disagree.
 * @module
 */

import { identityProblems, isApiVersion, isKind } from "../kube/names.ts";
import { isRecord } from "../lib/objects.ts";
import { type Policy, policyViolation } from "../policy/policy.ts";
import {
  type CompiledDocument,
  type CompiledTemplate,
  renderTemplate,
  type TemplateNode,
  TemplateText,
} from "../render/template.ts";

/** What a template's checks found, each message starting with `line N:`. */
export interface TemplateCheck {
  /** Problems that make the commit unusable. */
  errors: string[];
  /** Policy violations: the commit serves, but topics using this file are unusable. */
  policy: string[];
}

/** A compiled template, with what its checks found when they were run with it. */
export interface CheckedTemplate {
  template: CompiledTemplate;
  check?: TemplateCheck;
}

/** Values used to render templates for checking: realistic built-ins, `sample` for the rest. */
export function sampleValues(template: CompiledTemplate): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of template.valueNames) values[name] = "sample";
  return {
    ...values,
    MESSAGE: "c2FtcGxl",
    PAYLOAD: "c2FtcGxl",
    REQUEST_UUID: "00000000-0000-4000-8000-000000000000",
    FUNCTION_UID: "00000000-0000-4000-8000-000000000001",
    RANDOM: "sample0000",
    TOPIC: "sample",
  };
}

/** Checks `template` against the object rules and `policy`. */
export function checkTemplate(template: CompiledTemplate, policy: Policy): TemplateCheck {
  const errors: string[] = [];
  const violations: string[] = [];
  const objects = renderTemplate(template, sampleValues(template));
  template.documents.forEach((doc, i) => {
    const where = `line ${doc.line}: document ${doc.index + 1}`;
    const identity = writtenOut(doc, where, errors);
    if (!identity) return;
    const object = objects[i] as { metadata?: Record<string, unknown> };
    for (const problem of identityProblems(object.metadata ?? {})) {
      errors.push(`${where}: ${problem} (rendered with sample values)`);
    }
    const namespace = constantNamespace(doc.root);
    const violation = policyViolation(policy, { ...identity, namespace, object });
    if (violation) violations.push(`${where}: ${violation}`);
  });
  return { errors, policy: violations };
}

/** An object after a render, as {@linkcode checkRenderedObject} reads it. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: unknown; generateName?: unknown; namespace?: unknown };
}

/**
 * The object rules and the policy on one rendered object, with the values of a real request:
 * what the index build checks on sample values, checked on these. `namespaced` as the router
 * decides it without an API server (well-known cluster-scoped kinds). Each problem names the
 * object; none when it may be applied.
 */
export function checkRenderedObject(
  object: RenderedObject,
  policy: Policy,
  options: { namespaced: boolean },
): string[] {
  const metadata = object.metadata ?? {};
  const problems = identityProblems(metadata);
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : undefined;
  const violation = policyViolation(policy, {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace,
    namespaced: options.namespaced,
  });
  if (violation) problems.push(violation);
  return problems;
}

function field(node: TemplateNode, key: string): TemplateNode | undefined {
  return isMapping(node) && Object.hasOwn(node, key) ? node[key] : undefined;
}

function isMapping(node: TemplateNode): node is { [key: string]: TemplateNode } {
  return isRecord(node) && !(node instanceof TemplateText);
}

/** apiVersion and kind must be plain strings in the template: a value may not choose them. */
function writtenOut(
  doc: CompiledDocument,
  where: string,
  errors: string[],
): { apiVersion: string; kind: string } | undefined {
  const found: Record<string, string> = {};
  for (const key of ["apiVersion", "kind"]) {
    const node = field(doc.root, key);
    if (!node) errors.push(`${where} has no ${key}`);
    else if (typeof node !== "string" || node === "") {
      errors.push(`${where}: ${key} must be written out as a string, not templated`);
    } else if (key === "apiVersion" && !isApiVersion(node)) {
      errors.push(
        `${where}: apiVersion ${JSON.stringify(node)} is not "version" or "group/version"`,
      );
    } else if (key === "kind" && !isKind(node)) {
      errors.push(
        `${where}: kind ${JSON.stringify(node)} is not a kind: a letter, then letters and digits`,
      );
    } else found[key] = node;
  }
  return found.apiVersion && found.kind
    ? { apiVersion: found.apiVersion, kind: found.kind }
    : undefined;
}

/** The namespace when the template writes it out; undefined when absent or templated. */
function constantNamespace(root: TemplateNode): string | undefined {
  const metadata = field(root, "metadata");
  const namespace = metadata && field(metadata, "namespace");
  return typeof namespace === "string" ? namespace : undefined;
}

/** The kinds a template creates, one entry per distinct apiVersion and kind. */
export function templateKinds(template: CompiledTemplate): { apiVersion: string; kind: string }[] {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const doc of template.documents) {
    const apiVersion = field(doc.root, "apiVersion");
    const kind = field(doc.root, "kind");
    if (typeof apiVersion === "string" && typeof kind === "string") {
      kinds.set(`${apiVersion} ${kind}`, { apiVersion, kind });
    }
  }
  return [...kinds.values()];
}
