/**
 * The assertions the tests use, on Node's `assert/strict` (the standard library's JSR
 * registry is not reachable from every build machine; `node:assert` ships with Deno).
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Asserts that `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message as string);
}

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message as string);
}

/** Asserts deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message as string);
}

/** Asserts that `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  nodeAssert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Asserts that `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message as string);
}

/** Asserts that `run` throws an instance of `type`, and returns the error. */
export function assertThrows<E extends Error>(
  run: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes?: string,
): E {
  try {
    run();
  } catch (error) {
    nodeAssert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    if (includes) assertStringIncludes((error as Error).message, includes);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Asserts that `run` rejects with an instance of `type`, and returns the error. */
export async function assertRejects<E extends Error>(
  run: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await run();
  } catch (error) {
    nodeAssert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    if (includes) assertStringIncludes((error as Error).message, includes);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be rejected` });
}
