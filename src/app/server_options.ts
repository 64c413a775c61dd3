/**
 * What both HTTP servers (`serve_native.ts`, `serve_node.ts`) take and give, and the answer
 * both give when a handler throws.
 * @module
 */

import type { Logger } from "../log/logger.ts";

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

/** Where and with which limits to serve. */
export interface ServeOptions {
  hostname: string;
  port: number;
  /** HEADER_TIMEOUT. */
  headerTimeoutMs: number;
  /** BODY_TIMEOUT: routes enforce it on the bodies they read; here it bounds the rest. */
  bodyTimeoutMs: number;
  /** IDLE_TIMEOUT. */
  idleTimeoutMs: number;
  /** MAX_CONNECTIONS. */
  maxConnections: number;
  /** Where a handler that throws (a bug: handlers answer their own errors) is logged. */
  logger?: Logger;
  /** Called with the number of open connections whenever it changes (metrics). */
  onConnections?: (open: number) => void;
  /** Called for each connection closed at once because `maxConnections` were open (metrics). */
  onRefused?: () => void;
}

/** The answer to a request whose handler threw, a bug: handlers answer their own errors. */
export function bugAnswer(): Response {
  return Response.json({ error: "internal error: this is a bug in gitfaas" }, { status: 500 });
}
