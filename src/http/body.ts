/**
 * Request bodies with limits that hold whatever the client does: a size limit that holds even
 * when the client lies about or omits Content-Length (reading stops at the limit instead of
 * buffering an unbounded body), a time limit on receiving it, and a {@linkcode BodyBudget}
 * shared by every request, so that many bodies at once cannot add up to more memory than the
 * router has.
 * @module
 */

import { concatBytes, decodeUtf8 } from "../lib/bytes.ts";
import { HttpError, RequestAbortedError } from "./http_error.ts";
import { STATUS_CODE } from "./status.ts";

/**
 * The bytes of request bodies the router holds at once. A body takes its bytes before it is
 * read (its Content-Length) or as it arrives, and gives them back once nothing holds it any
 * more; a body that does not fit is refused instead of waiting, so memory stays bounded.
 */
export class BodyBudget {
  /** The most bytes held at once. */
  readonly capacity: number;
  #used = 0;

  /** A budget of `capacity` bytes. */
  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` when they fit, and says whether they did. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.capacity) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back `bytes` taken before. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** Options for {@linkcode readBody}. */
export interface ReadBodyOptions {
  /**
   * Where the body's bytes are taken from. On success they stay taken: the caller gives back
   * `body.byteLength` once it no longer holds the body. On failure they are given back.
   */
  budget?: BodyBudget;
  /**
   * When true (the default), a declared Content-Length is taken from the budget before anything
   * is read, so a body that cannot fit is refused at once. When false, bytes are taken only as
   * they arrive: for unauthenticated senders, whose declared lengths cost them nothing.
   */
  upfront?: boolean;
  /** Time allowed to receive the whole body; 408 after it. */
  timeoutMs?: number;
}

/**
 * Reads the whole body. Throws 413 as soon as it passes `maxBytes`, 503 (with Retry-After) when
 * it does not fit in the budget, 408 when it does not arrive within `timeoutMs`, and
 * {@linkcode RequestAbortedError} when the client goes away before sending all of it.
 */
export async function readBody(
  request: Request,
  maxBytes: number,
  options: ReadBodyOptions = {},
): Promise<Uint8Array> {
  const { budget, upfront = true, timeoutMs } = options;
  const tooLarge = () =>
    new HttpError(
      STATUS_CODE.ContentTooLarge,
      `the body is larger than the limit of ${maxBytes} bytes`,
      { details: { limitBytes: maxBytes } },
    );
  const declaredHeader = request.headers.get("content-length");
  const declared = declaredHeader === null ? undefined : Number(declaredHeader);
  if (declared !== undefined && declared > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();

  let taken = 0;
  const take = (bytes: number) => {
    if (!budget || bytes === 0) return;
    if (!budget.tryTake(bytes)) throw busy(budget);
    taken += bytes;
  };
  const reserved = upfront && declared !== undefined && Number.isSafeInteger(declared) &&
    declared >= 0;
  const reader = request.body.getReader();
  const timedOut = timeoutMs === undefined ? undefined : timer(timeoutMs, () => {
    reader.cancel().catch(() => undefined);
  });
  try {
    if (reserved) take(declared);
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (;;) {
      const { done, value } = await read(reader, timedOut);
      // Cancelled by the timer: what arrived is not the whole body.
      if (timedOut?.fired) throw new DOMException("body timeout", "TimeoutError");
      if (done) break;
      length += value.byteLength;
      if (length > maxBytes) throw tooLarge();
      if (!reserved || length > declared) take(reserved ? length - taken : value.byteLength);
      chunks.push(value);
    }
    // What stays taken is exactly the body's length.
    budget?.give(taken - length);
    taken = length;
    return concatBytes(chunks);
  } catch (error) {
    budget?.give(taken);
    await reader.cancel().catch(() => undefined);
    if (timedOut?.fired) {
      throw new HttpError(
        STATUS_CODE.RequestTimeout,
        `the body did not arrive within ${timeoutMs! / 1000} s`,
        { details: { timeoutSeconds: timeoutMs! / 1000 }, cause: error },
      );
    }
    if (error instanceof HttpError) throw error;
    throw new RequestAbortedError(
      "the client closed the connection before sending the whole body",
      { cause: error },
    );
  } finally {
    timedOut?.clear();
  }
}

/** The 503 of a body that does not fit in the budget now. */
function busy(budget: BodyBudget): HttpError {
  return new HttpError(
    STATUS_CODE.ServiceUnavailable,
    `too many request bodies in flight (the limit is ${budget.capacity} bytes at once); try again shortly`,
    { headers: { "retry-after": "1" }, details: { limitBytes: budget.capacity } },
  );
}

type Timer = { readonly fired: boolean; readonly promise: Promise<never>; clear(): void };

/** A timer that calls `onFire` and rejects its promise after `ms`. */
function timer(ms: number, onFire: () => void): Timer {
  const { promise, reject } = Promise.withResolvers<never>();
  promise.catch(() => undefined);
  const state = {
    fired: false,
    promise,
    clear: () => clearTimeout(id),
  };
  const id = setTimeout(() => {
    state.fired = true;
    reject(new DOMException("the body did not arrive in time", "TimeoutError"));
    onFire();
  }, ms);
  return state;
}

function read(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  timedOut: Timer | undefined,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  return timedOut ? Promise.race([reader.read(), timedOut.promise]) : reader.read();
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
