/**
 * Request bodies with a size limit that holds even when the client lies about or omits
 * Content-Length: reading stops at the limit instead of buffering an unbounded body.
 * @module
 */

import { concatBytes, decodeUtf8 } from "../lib/bytes.ts";
import { HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

/** Reads the whole body, or throws 413 as soon as it passes `maxBytes`. */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(
      STATUS_CODE.ContentTooLarge,
      `the body is larger than the limit of ${maxBytes} bytes`,
      { details: { limitBytes: maxBytes } },
    );
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

/**
 * The JSON value of a body read with {@linkcode readBody}: strict UTF-8, then `JSON.parse`; 400
 * saying why when it is not valid JSON.
 */
export function parseJsonBody(body: Uint8Array): unknown {
  try {
    return JSON.parse(decodeUtf8(body));
  } catch (error) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      `the body is not valid JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** The media type of a Content-Type header, lowercased, without parameters; "" when absent. */
export function mediaType(request: Request): string {
  return (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
}
