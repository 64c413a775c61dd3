/**
 * Serving HTTP, and stopping it gracefully: new connections are refused while requests in
 * flight get a grace period to finish.
 * @module
 */

import { deadline } from "../lib/async.ts";

/** A server that is listening. */
export interface Server {
  /** The port it listens on (the one chosen, with port 0). */
  readonly port: number;
  /**
   * Stops taking requests and waits up to `graceMs` for those in flight. Resolves true when
   * every one was answered in time, false when the grace period ran out first.
   */
  shutdown(graceMs: number): Promise<boolean>;
}

/** Serves `handler` on `options.hostname`:`options.port` and resolves once it listens. */
export async function serve(
  handler: (request: Request) => Promise<Response>,
  options: { hostname: string; port: number },
): Promise<Server> {
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  return {
    port: await listening.promise,
    shutdown: (graceMs) => deadline(server.shutdown(), graceMs).then(() => true, () => false),
  };
}
