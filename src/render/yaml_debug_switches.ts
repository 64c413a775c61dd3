/**
 * `yaml` looks up the debug switches LOG_TOKENS and LOG_STREAM in `process.env` for every token
 * and document it parses. Under Deno each lookup is a call into the runtime (a refused one under
 * the start task's `--ignore-env`), a large part of a template compile (BENCHMARKS.md, "Changes
 * made for this issue, and why").
 * @module
 */

import process from "node:process";

const SILENCED = Symbol.for("gitfaas.yamlDebugSwitchesSilenced");
const YAML_DEBUG_SWITCHES: ReadonlySet<string | symbol> = new Set(["LOG_TOKENS", "LOG_STREAM"]);

/**
 * Makes LOG_TOKENS and LOG_STREAM read as unset in `process.env`, without the runtime call;
 * every other name reads and writes as before. The router never lets those two names through,
 * so nothing changes but the speed of a compile. Called once at start by the router, by
 * `validate` and by the compile worker (each has its own `process.env`); calling it again does
 * nothing. Templates compile the same without it, only slower.
 */
export function silenceYamlDebugSwitches(): void {
  const env = process.env;
  if (Reflect.get(env, SILENCED)) return;
  // The target is an empty object, not `env` itself: V8 checks every trap's answer against the
  // target's own property, and on Deno's env that check is the very runtime call avoided here.
  process.env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_, key) =>
      key === SILENCED ? true : YAML_DEBUG_SWITCHES.has(key) ? undefined : Reflect.get(env, key),
    set: (_, key, value) => Reflect.set(env, key, value),
    has: (_, key) => Reflect.has(env, key),
    deleteProperty: (_, key) => Reflect.deleteProperty(env, key),
    ownKeys: () => Reflect.ownKeys(env),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(env, key);
      return descriptor && { ...descriptor, configurable: true };
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(env, key, descriptor),
  });
}
