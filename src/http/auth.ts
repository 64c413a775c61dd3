/**
 * Bearer-token checks for the endpoints that change or reveal things. The comparison takes the
 * same time whatever the token, so a caller cannot guess it byte by byte.
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./json.ts";

/** A check that throws 401 unless the request carries `Authorization: Bearer <token>`. */
export function bearerCheck(token: string): (request: Request) => void {
  const expected = createHash("sha256").update(token).digest();
  return (request) => {
    const header = request.headers.get("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    const given = createHash("sha256").update(match?.[1] ?? "").digest();
    if (!match || !timingSafeEqual(given, expected)) {
      throw new HttpError(
        401,
        "missing or wrong bearer token: send Authorization: Bearer <PUBLISH_TOKEN>",
        {},
        { "www-authenticate": 'Bearer realm="gitfaas"' },
      );
    }
  };
}
