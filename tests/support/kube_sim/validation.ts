/**
 * The slice of apiserver validation that callers commonly trip over: object
 * names, labels, and the required parts of workload specs. Messages are the
 * real ones so that tests asserting on them also hold against a cluster.
 *
 * @module
 */

import type { JsonObject } from "./patch.ts";
import { isObject } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";
import { type FieldError, invalid, invalidObject, notSupported, required } from "./status.ts";

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const subdomainMessage =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for " +
  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMessage =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must " +
  "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for " +
  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const qualifiedNameMessage =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
  "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " +
  "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const labelValueMessage =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
  "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or " +
  "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Problems with a DNS-1123 subdomain (most object names). */
export function subdomainErrors(name: string): string[] {
  const errors: string[] = [];
  if (name.length > 253) errors.push("must be no more than 253 characters");
  if (!dns1123Subdomain.test(name)) errors.push(subdomainMessage);
  return errors;
}

/** Problems with a DNS-1123 label (namespace and container names). */
export function labelErrors(name: string): string[] {
  const errors: string[] = [];
  if (name.length > 63) errors.push("must be no more than 63 characters");
  if (!dns1123Label.test(name)) errors.push(labelMessage);
  return errors;
}

// Namespaces and Services are DNS labels; everything else in the set is a subdomain.
function nameErrors(def: ResourceDef, name: string): string[] {
  return def.plural === "namespaces" ? labelErrors(name) : subdomainErrors(name);
}

function validateLabels(labels: unknown, errors: FieldError[]): void {
  if (labels === undefined || labels === null) return;
  if (!isObject(labels)) {
    errors.push(invalid("metadata.labels", labels, "must be a map of strings"));
    return;
  }
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf("/");
    const namePart = slash < 0 ? key : key.slice(slash + 1);
    const prefix = slash < 0 ? "" : key.slice(0, slash);
    if (prefix && subdomainErrors(prefix).length) {
      errors.push(invalid("metadata.labels", key, `prefix part ${subdomainMessage}`));
    }
    if (namePart.length > 63) {
      errors.push(invalid("metadata.labels", key, "name part must be no more than 63 characters"));
    }
    if (!qualifiedName.test(namePart)) {
      errors.push(invalid("metadata.labels", key, qualifiedNameMessage));
    }
    const v = String(value);
    if (v.length > 63) {
      errors.push(invalid("metadata.labels", v, "must be no more than 63 characters"));
    }
    if (!labelValue.test(v)) errors.push(invalid("metadata.labels", v, labelValueMessage));
  }
}

function validatePodSpec(spec: unknown, path: string, errors: FieldError[]): void {
  const containers = isObject(spec) ? spec.containers : undefined;
  if (!Array.isArray(containers) || containers.length === 0) {
    errors.push(required(`${path}.containers`));
    return;
  }
  containers.forEach((c, i) => {
    const at = `${path}.containers[${i}]`;
    if (!isObject(c) || !c.name) errors.push(required(`${at}.name`));
    else {for (const msg of labelErrors(String(c.name))) {
        errors.push(invalid(`${at}.name`, c.name, msg));
      }}
    if (!isObject(c) || !c.image) errors.push(required(`${at}.image`));
  });
}

function validateJobSpec(spec: unknown, path: string, errors: FieldError[]): void {
  const podSpec = isObject(spec) && isObject(spec.template) ? spec.template.spec : undefined;
  validatePodSpec(podSpec, `${path}.template.spec`, errors);
  // The apiserver defaults an empty restartPolicy to "Always" before validating.
  const policy = (isObject(podSpec) && podSpec.restartPolicy) || "Always";
  if (policy !== "OnFailure" && policy !== "Never") {
    errors.push(
      notSupported(`${path}.template.spec.restartPolicy`, policy, ["OnFailure", "Never"]),
    );
  }
}

function validateSpec(def: ResourceDef, obj: JsonObject, errors: FieldError[]): void {
  const spec = obj.spec;
  switch (`${def.group}/${def.kind}`) {
    case "batch/Job":
      validateJobSpec(spec, "spec", errors);
      break;
    case "batch/CronJob":
      if (!isObject(spec) || !spec.schedule) errors.push(required("spec.schedule"));
      validateJobSpec(
        isObject(spec) ? spec.jobTemplate?.spec : undefined,
        "spec.jobTemplate.spec",
        errors,
      );
      break;
    case "/Pod":
      validatePodSpec(spec, "spec", errors);
      break;
    case "apps/Deployment":
    case "apps/StatefulSet":
    case "apps/DaemonSet":
    case "apps/ReplicaSet":
      if (!isObject(spec) || !isObject(spec.selector)) errors.push(required("spec.selector"));
      validatePodSpec(
        isObject(spec) && isObject(spec.template) ? spec.template.spec : undefined,
        "spec.template.spec",
        errors,
      );
      break;
    case "apiextensions.k8s.io/CustomResourceDefinition":
      validateCrd(obj, errors);
      break;
  }
}

function validateCrd(obj: JsonObject, errors: FieldError[]): void {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const names = isObject(spec.names) ? spec.names : {};
  if (!spec.group) errors.push(required("spec.group"));
  if (!names.plural) errors.push(required("spec.names.plural"));
  if (!names.kind) errors.push(required("spec.names.kind"));
  if (spec.scope !== "Namespaced" && spec.scope !== "Cluster") {
    errors.push(notSupported("spec.scope", spec.scope ?? "", ["Cluster", "Namespaced"]));
  }
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) {
    errors.push(
      required("spec.versions", "must have exactly one version marked as storage version"),
    );
  }
  const name = obj.metadata?.name;
  if (spec.group && names.plural && name !== `${names.plural}.${spec.group}`) {
    errors.push(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'));
  }
}

/**
 * Validates an object about to be written; throws a 422 Invalid ApiError.
 * `obj.metadata.name` is already final (generateName resolved).
 */
export function validateObject(def: ResourceDef, obj: JsonObject): void {
  const errors: FieldError[] = [];
  const meta = obj.metadata;
  const name: string = meta.name ?? "";
  if (!name) {
    errors.push(required("metadata.name", "name or generateName is required"));
  } else {
    for (const msg of nameErrors(def, name)) errors.push(invalid("metadata.name", name, msg));
  }
  if (meta.generateName) {
    // Like the apiserver, a trailing dash is fine in a prefix.
    const masked = String(meta.generateName).replace(/-$/, "a");
    for (const msg of nameErrors(def, masked)) {
      errors.push(invalid("metadata.generateName", meta.generateName, msg));
    }
  }
  validateLabels(meta.labels, errors);
  validateSpec(def, obj, errors);
  if (errors.length) {
    throw invalidObject({ group: def.group, plural: def.plural, kind: def.kind }, name, errors);
  }
}
