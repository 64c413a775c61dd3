/**
 * Helpers for objects built from data (YAML, JSON), whose shape and keys are not trusted.
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

/**
 * Whether `value` is an object with string keys, such as parsed JSON's `{}`: not null, not an
 * array.
 */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
