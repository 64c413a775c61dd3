/**
 * `?wait=<seconds>`: how long a caller asks to be held until its request ends.
 * @module
 */

import { HttpError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

/** The longest wait a caller may ask for. */
export const MAX_WAIT_SECONDS = 600;

/** The wait asked for in `url`, in ms; undefined when none was asked for. */
export function waitOf(url: URL): number | undefined {
  const text = url.searchParams.get("wait");
  if (text === null) return undefined;
  const seconds = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS
  ) {
    throw new HttpError(
      STATUS_CODE.BadRequest,
      `wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}`,
    );
  }
  return seconds * 1000;
}
