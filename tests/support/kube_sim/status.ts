/**
 * `metav1.Status` bodies with the reasons and messages of the real apiserver
 * (k8s.io/apimachinery/pkg/api/errors), so that clients branching on
 * `reason`/`code` or showing `message` behave as they would against a cluster.
 *
 * @module
 */

/** One entry of `details.causes`. */
export interface StatusCause {
  /** Cause type, e.g. `FieldValueRequired`. */
  reason?: string;
  /** Human-readable cause. */
  message?: string;
  /** Offending field path. */
  field?: string;
}

/** `details` of a Status. */
export interface StatusDetails {
  /** Object name. */
  name?: string;
  /** API group. */
  group?: string;
  /** Resource (plural) or kind, depending on the error. */
  kind?: string;
  /** Object UID. */
  uid?: string;
  /** Per-field causes. */
  causes?: StatusCause[];
  /** Suggested client back-off. */
  retryAfterSeconds?: number;
}

/** Identifies a resource in messages: `jobs.batch` (plural) and `Job.batch` (kind). */
export interface QualifiedNames {
  /** API group, `""` for core. */
  group: string;
  /** Plural resource name. */
  plural: string;
  /** Kind name. */
  kind: string;
}

/** An error that the router turns into a Status response. */
export class ApiError extends Error {
  /**
   * Creates an error answered as a Status.
   *
   * @param code HTTP status.
   * @param reason `metav1.StatusReason`.
   * @param message Status `message`.
   * @param details Optional `details`.
   * @param headers Extra response headers (for example `Retry-After`).
   */
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  /** The Status object to send. */
  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
    };
    if (this.details) status.details = omitEmpty(this.details);
    status.code = this.code;
    return status;
  }
}

// Go's omitempty drops empty strings, and clients compare details verbatim.
function omitEmpty(details: StatusDetails): StatusDetails {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) {
    if (v !== undefined && v !== "") out[k] = v;
  }
  return out as StatusDetails;
}

const qualifiedResource = (q: QualifiedNames) => q.group ? `${q.plural}.${q.group}` : q.plural;
const qualifiedKind = (q: QualifiedNames) => q.group ? `${q.kind}.${q.group}` : q.kind;

/** 404 for a named object: `jobs.batch "x" not found`. */
export function notFound(q: QualifiedNames, name: string): ApiError {
  return new ApiError(404, "NotFound", `${qualifiedResource(q)} "${name}" not found`, {
    name,
    group: q.group,
    kind: q.plural,
  });
}

/** 404 for a path the server does not serve. */
export function pathNotFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

/** 409 AlreadyExists: `jobs.batch "x" already exists`. */
export function alreadyExists(q: QualifiedNames, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualifiedResource(q)} "${name}" already exists`, {
    name,
    group: q.group,
    kind: q.plural,
  });
}

/** 409 Conflict for a stale resourceVersion. */
export function conflict(q: QualifiedNames, name: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedResource(q)} "${name}": ` +
      "the object has been modified; please apply your changes to the latest version and try again",
    { name, group: q.group, kind: q.plural },
  );
}

/** A `field.Error` as produced by apiserver validation. */
export interface FieldError {
  /** `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, ... */
  type: string;
  /** Field path, e.g. `metadata.name`. */
  field: string;
  /** `ErrorBody()`, for example `Required value: name or generateName is required`. */
  body: string;
}

/** A required field is missing. */
export function required(field: string, detail = ""): FieldError {
  return {
    type: "FieldValueRequired",
    field,
    body: detail ? `Required value: ${detail}` : "Required value",
  };
}

/** A field has a bad value; `value` is rendered the way Go's `%q`/`%v` would. */
export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, body: `Invalid value: ${goValue(value)}: ${detail}` };
}

/** A field has a value outside an enumeration. */
export function notSupported(field: string, value: unknown, supported: string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(", ");
  return {
    type: "FieldValueNotSupported",
    field,
    body: `Unsupported value: ${goValue(value)}: supported values: ${list}`,
  };
}

function goValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** 422 Invalid: `Job.batch "x" is invalid: <errors>`. */
export function invalidObject(q: QualifiedNames, name: string, errors: FieldError[]): ApiError {
  const rendered = errors.map((e) => `${e.field}: ${e.body}`);
  const summary = rendered.length === 1 ? rendered[0] : `[${rendered.join(", ")}]`;
  return new ApiError(422, "Invalid", `${qualifiedKind(q)} "${name}" is invalid: ${summary}`, {
    name,
    group: q.group,
    kind: q.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.body, field: e.field })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
    {},
  );
}

/** 415 for a PATCH content type the resource does not accept. */
export function unsupportedPatch(accepted: string[]): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    "the body of the request was in an unknown format - accepted media types include: " +
      accepted.join(", "),
  );
}

/** 401 for a missing or wrong bearer token. */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}

const faultReasons: Record<number, [string, string]> = {
  400: ["BadRequest", "the server rejected our request for an unknown reason"],
  401: ["Unauthorized", "Unauthorized"],
  403: ["Forbidden", "forbidden: the server does not allow access to the requested resource"],
  404: ["NotFound", "the server could not find the requested resource"],
  405: ["MethodNotAllowed", "the server does not allow this method on the requested resource"],
  409: ["Conflict", "the server reported a conflict"],
  410: ["Expired", "too old resource version"],
  422: ["Invalid", "the server rejected our request due to an error in our request"],
  429: ["TooManyRequests", "Too many requests, please try again later."],
  500: ["InternalError", "an error on the server has prevented the request from succeeding"],
  503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
  504: ["Timeout", "the server was unable to return a response in the time allotted"],
};

/** The generic Status the real server sends for a bare HTTP status (used by fault injection). */
export function genericStatus(code: number, retryAfter?: number): ApiError {
  const [reason, message] = faultReasons[code] ?? ["", `unexpected status ${code}`];
  const details: StatusDetails = {};
  const headers: Record<string, string> = {};
  if (retryAfter !== undefined) {
    details.retryAfterSeconds = retryAfter;
    headers["retry-after"] = String(retryAfter);
  }
  return new ApiError(code, reason, message, details, headers);
}
