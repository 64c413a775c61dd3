/**
 * Helpers for objects built from data (YAML, JSON) whose keys are not trusted to be harmless.
 * @module
 */

/**
 * `object[key] = value`, where a `"__proto__"` key is an own data property, as it is in YAML and
 * JSON, instead of replacing the object's prototype.
 */
export function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else object[key] = value;
}
