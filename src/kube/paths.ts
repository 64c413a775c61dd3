/**
 * Request paths on the API server, built from segments that are each percent-encoded and never
 * empty, `.` or `..`: a name or namespace taken from data can name only itself, never a parent
 * collection or another resource. Names are checked against the API server's rules before a
 * publish gets here (`names.ts`); a segment refused here is a bug, reported as one.
 * @module
 */

/** A value that would make a request path name something else than itself. */
export class PathSegmentError extends Error {
  override name = "PathSegmentError";
}

/**
 * `text` as one path segment, percent-encoded; throws {@linkcode PathSegmentError} for `""`,
 * `.` and `..`, which URL resolution would drop or turn into the parent.
 */
export function pathSegment(text: string): string {
  if (text === "" || text === "." || text === "..") {
    throw new PathSegmentError(`${JSON.stringify(text)} cannot be a segment of an API path`);
  }
  return encodeURIComponent(text);
}

/**
 * The root of `apiVersion`'s resources: `/api/v1` for the core group, `/apis/<group>/<version>`
 * for the others.
 *
 * @example
 * ```ts
 * apiRoot("batch/v1"); // "/apis/batch/v1"
 * ```
 */
export function apiRoot(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1
    ? `/api/${pathSegment(apiVersion)}`
    : `/apis/${pathSegment(apiVersion.slice(0, slash))}/${
      pathSegment(apiVersion.slice(slash + 1))
    }`;
}

/** Where a resource path points: a namespace (namespaced resources) and an object name. */
export interface ResourcePathOptions {
  /** The namespace of a namespaced resource; none: cluster-scoped, or every namespace. */
  namespace?: string;
  /** One object; none: the collection. */
  name?: string;
}

/**
 * The path of `resource` (plural, such as `jobs`) of `apiVersion`: the collection, in a
 * namespace when one is given, or one object of it.
 *
 * @example
 * ```ts
 * resourcePath("v1", "configmaps", { namespace: "jobs", name: "input" });
 * // "/api/v1/namespaces/jobs/configmaps/input"
 * ```
 */
export function resourcePath(
  apiVersion: string,
  resource: string,
  options: ResourcePathOptions = {},
): string {
  const scope = options.namespace === undefined
    ? ""
    : `/namespaces/${pathSegment(options.namespace)}`;
  const object = options.name === undefined ? "" : `/${pathSegment(options.name)}`;
  return `${apiRoot(apiVersion)}${scope}/${pathSegment(resource)}${object}`;
}
