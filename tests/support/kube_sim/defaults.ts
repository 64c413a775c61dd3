/**
 * Defaults and conversions the apiserver's registry strategies apply when an
 * object is written, for the kinds where callers can observe them.
 *
 * @module
 */

import { nowTime } from "./fields.ts";
import { deepEqual, isObject, type JsonObject } from "./patch.ts";
import type { ResourceDef } from "./resources.ts";

function utf8Base64(text: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Applies write-time defaults in place: Secret `stringData` folded into
 * `data`, Namespace finalizer/label/phase, CRD acceptance status.
 *
 * @param def The resource written.
 * @param obj The object about to be stored (mutated).
 * @param existing The stored object for updates, undefined for creates.
 */
export function applyDefaults(
  def: ResourceDef,
  obj: JsonObject,
  existing: JsonObject | undefined,
): void {
  switch (def.storageKey) {
    case "/secrets":
      if (isObject(obj.stringData)) {
        obj.data = { ...obj.data };
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = utf8Base64(String(v));
        delete obj.stringData;
      }
      obj.type ??= "Opaque";
      break;
    case "/namespaces":
      obj.metadata.labels = {
        ...obj.metadata.labels,
        "kubernetes.io/metadata.name": obj.metadata.name,
      };
      obj.spec = { finalizers: ["kubernetes"], ...obj.spec };
      if (!existing) obj.status = { phase: "Active" };
      break;
    case "apiextensions.k8s.io/customresourcedefinitions": {
      const spec = obj.spec ?? {};
      // Keep condition timestamps stable so an unchanged update stays a no-op.
      if (existing && deepEqual(existing.spec?.names, spec.names)) {
        obj.status = existing.status;
        break;
      }
      const storage = (spec.versions ?? []).find((v: JsonObject) => v?.storage)?.name;
      obj.status = {
        acceptedNames: spec.names,
        conditions: ["NamesAccepted", "Established"].map((type) => ({
          type,
          status: "True",
          lastTransitionTime: nowTime(),
          reason: type === "Established" ? "InitialNamesAccepted" : "NoConflicts",
          message: type === "Established"
            ? "the initial names have been accepted"
            : "no conflicts found",
        })),
        storedVersions: storage ? [storage] : [],
      };
      break;
    }
  }
}
