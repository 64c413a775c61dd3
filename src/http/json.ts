/**
 * JSON answers: every body the router sends, errors included, is JSON.
 * @module
 */

import { STATUS_CODE } from "./status.ts";

/** A JSON response. */
export function json(
  body: unknown,
  status: number = STATUS_CODE.OK,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
