/**
 * The HTTP statuses the router answers with and reads from the API server, under the names of
 * the Deno standard library's `STATUS_CODE` (`@std/http/status`), so that code says
 * `STATUS_CODE.ServiceUnavailable` instead of a bare 503.
 * @module
 */

/** HTTP status codes by their RFC 9110 names (a subset of std's `STATUS_CODE`). */
export const STATUS_CODE = {
  OK: 200,
  Created: 201,
  Accepted: 202,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestTimeout: 408,
  Conflict: 409,
  ContentTooLarge: 413,
  UnsupportedMediaType: 415,
  UnprocessableEntity: 422,
  TooManyRequests: 429,
  /** Not in RFC 9110: nginx's "client closed request", recorded when nobody is left to answer. */
  ClientClosedRequest: 499,
  InternalServerError: 500,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
} as const;

/** One of the {@linkcode STATUS_CODE} values. */
export type StatusCode = typeof STATUS_CODE[keyof typeof STATUS_CODE];

/** Whether `status` is a success (2xx). */
export function isSuccessfulStatus(status: number): boolean {
  return status >= 200 && status <= 299;
}
