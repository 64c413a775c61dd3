/**
 * JSON answers: every body the router sends, errors included, is JSON.
 * @module
 */

import { STATUS_CODE } from "./status.ts";

/**
 * The text of each answer `json` made. The server writes it from here instead of reading the
 * Response's body, which would build a stream and copy the bytes out of it for every answer.
 */
const TEXTS = new WeakMap<Response, string>();

/** A JSON response. */
export function json(
  body: unknown,
  status: number = STATUS_CODE.OK,
  headers: Record<string, string> = {},
): Response {
  const text = JSON.stringify(body) + "\n";
  const response = new Response(text, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
  TEXTS.set(response, text);
  return response;
}

/**
 * The body of `response` when {@linkcode json} made it and nobody has read it since; undefined
 * otherwise (then the body is read as usual).
 */
export function jsonTextOf(response: Response): string | undefined {
  return response.bodyUsed ? undefined : TEXTS.get(response);
}
