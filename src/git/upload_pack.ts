/**
 * The client side of `git-upload-pack` over smart HTTP (gitprotocol-http, gitprotocol-v2,
 * gitprotocol-pack): ask where one ref points, and fetch a commit's pack.
 *
 * Protocol v2 is asked for (`Git-Protocol: version=2`); a server that speaks it answers
 * `ls-refs` with only the refs under the asked prefix, however many refs it holds. A server that
 * ignores the header answers in protocol v0, whose ref listing always holds every ref; then only
 * the followed ref is kept from it.
 * @module
 */

import type { GitHttpTransport } from "./http_transport.ts";
import { DELIM, FLUSH, type Packet, packetText, pktLine, PktLineReader } from "./pkt_line.ts";

const AGENT = "gitfaas/1";
const OID = /^[0-9a-f]{40}$/;

/** The server broke the protocol, or said why it could not answer. */
export class UploadPackError extends Error {
  override name = "UploadPackError";
}

/** What one fetch asks for. */
export interface FetchRequest {
  /** The commit wanted. */
  want: string;
  /**
   * Commits the cache holds with their whole tree: the server leaves out every object they
   * reach, and may send deltas against them (a thin pack).
   */
  haves: readonly string[];
  /** Commits the cache holds without their parents (so the server does not assume them). */
  shallows: readonly string[];
  /** History depth wanted (1: the commit alone). */
  depth: number;
  /** Cap on the bytes of the answer (the pack and its framing). */
  maxBytes?: number;
}

/** Receives the pack as it arrives. */
export type PackSink = (chunk: Uint8Array) => void | Promise<void>;

type Server =
  | { version: 2; capabilities: Map<string, string> }
  | { version: 0; capabilities: Set<string>; refs: Map<string, string> };

/** Options for {@linkcode UploadPackClient}. */
export interface UploadPackOptions {
  /** Cap on the bytes of a ref listing. */
  maxListingBytes?: number;
}

/** One remote repository's upload-pack service. */
export class UploadPackClient {
  readonly #url: string;
  readonly #http: GitHttpTransport;
  readonly #maxListingBytes: number | undefined;
  /** A v2 server's capabilities, kept: a poll is then a single `ls-refs` request. */
  #v2: Server | undefined;

  /** A client of the repository at `url` (without credentials). */
  constructor(url: string, http: GitHttpTransport, options: UploadPackOptions = {}) {
    this.#url = url.replace(/\/+$/, "");
    this.#http = http;
    this.#maxListingBytes = options.maxListingBytes;
  }

  /** The protocol version the server answered with last (undefined before the first request). */
  protocolVersion: 0 | 2 | undefined;

  /** Where `ref` (a full name, `refs/heads/main`) points, or undefined when it does not exist. */
  async lsRef(ref: string): Promise<string | undefined> {
    const server = await this.#server();
    if (server.version === 0) return server.refs.get(ref);
    try {
      const lines = await this.#command(server, "ls-refs", [`ref-prefix ${ref}`]);
      for (const line of lines) {
        const [oid, name] = line.split(" ");
        if (name === ref && OID.test(oid)) return oid;
      }
      return undefined;
    } catch (error) {
      this.#v2 = undefined; // rediscover next time: the server may have changed
      throw error;
    }
  }

  /**
   * Fetches `request.want` with the given depth; pack bytes go to `sink` as they arrive.
   * A v0 server is asked for the tip of `ref` instead of `want` (it may refuse an object it did
   * not just list): the commit actually fetched is returned.
   */
  async fetch(request: FetchRequest, options: { ref: string; sink: PackSink }): Promise<string> {
    const server = this.#v2 ?? await this.#discover();
    try {
      if (server.version === 2) {
        await this.#fetchV2(server, request, options.sink);
        return request.want;
      }
      const tip = server.refs.get(options.ref);
      if (!tip) throw new UploadPackError(`${options.ref} does not exist`);
      await this.#fetchV0(server, { ...request, want: tip }, options.sink);
      return tip;
    } catch (error) {
      this.#v2 = undefined;
      throw error;
    }
  }

  async #server(): Promise<Server> {
    return this.#v2 ?? await this.#discover();
  }

  /** `GET info/refs`: a v2 capability advertisement, or a v0 listing of every ref. */
  async #discover(): Promise<Server> {
    const response = await this.#http.request({
      url: `${this.#url}/info/refs?service=git-upload-pack`,
      headers: { "git-protocol": "version=2" },
      maxBytes: this.#maxListingBytes,
    });
    checkContentType(response.headers, "application/x-git-upload-pack-advertisement");
    const reader = new PktLineReader(response.body);
    let packet = await reader.read();
    // Smart HTTP starts with "# service=git-upload-pack" and a flush.
    if (packet instanceof Uint8Array && packetText(packet).startsWith("# service=")) {
      while (packet !== "flush" && packet !== undefined) packet = await reader.read();
      packet = await reader.read();
    }
    if (packet instanceof Uint8Array && packetText(packet) === "version 2") {
      const capabilities = new Map<string, string>();
      for (const line of await textLines(reader)) {
        const at = line.indexOf("=");
        if (at < 0) capabilities.set(line, "");
        else capabilities.set(line.slice(0, at), line.slice(at + 1));
      }
      const format = capabilities.get("object-format");
      if (format !== undefined && format !== "sha1") {
        throw new UploadPackError(`the repository uses ${format} object ids; only sha1 is read`);
      }
      if (!capabilities.has("ls-refs") || !capabilities.has("fetch")) {
        throw new UploadPackError("the server speaks protocol v2 without ls-refs and fetch");
      }
      const server = { version: 2 as const, capabilities };
      this.#v2 = server;
      this.protocolVersion = 2;
      return server;
    }
    if (packet instanceof Uint8Array && packetText(packet) === "version 1") {
      packet = await reader.read();
    }
    const server = await readV0Listing(packet, reader);
    this.protocolVersion = 0;
    return server;
  }

  /** Sends one v2 command and returns the lines of its answer up to the flush. */
  async #command(
    server: Extract<Server, { version: 2 }>,
    command: string,
    args: string[],
  ): Promise<string[]> {
    const response = await this.#post(v2Request(server, command, args), this.#maxListingBytes);
    const reader = new PktLineReader(response);
    return await textLines(reader);
  }

  async #fetchV2(
    server: Extract<Server, { version: 2 }>,
    request: FetchRequest,
    sink: PackSink,
  ): Promise<void> {
    const features = new Set((server.capabilities.get("fetch") ?? "").split(" "));
    if (request.depth > 0 && !features.has("shallow")) {
      throw new UploadPackError("the server does not offer shallow fetches");
    }
    const args = ["thin-pack", "ofs-delta", "no-progress", `want ${request.want}`];
    for (const oid of request.haves) args.push(`have ${oid}`);
    for (const oid of request.shallows) args.push(`shallow ${oid}`);
    if (request.depth > 0) args.push(`deepen ${request.depth}`);
    args.push("done");
    const reader = new PktLineReader(
      await this.#post(v2Request(server, "fetch", args), request.maxBytes),
    );
    try {
      // Sections: acknowledgments (not sent after "done"), shallow-info, wanted-refs,
      // packfile-uris, then packfile, whose side-band stream runs to the flush.
      while (true) {
        const header = await reader.read();
        if (!(header instanceof Uint8Array)) {
          throw new UploadPackError("the server's fetch answer has no packfile section");
        }
        const name = packetText(header);
        if (name.startsWith("ERR ")) throw new UploadPackError(name.slice(4));
        if (name === "packfile") {
          await readSideBand(reader, sink);
          return;
        }
        // A section we do not use: skip to its end.
        let packet: Packet | undefined;
        do packet = await reader.read(); while (packet instanceof Uint8Array);
        if (packet !== "delim") {
          throw new UploadPackError(`the server's fetch answer ended after "${name}"`);
        }
      }
    } finally {
      await reader.cancel();
    }
  }

  async #fetchV0(
    server: Extract<Server, { version: 0 }>,
    request: FetchRequest,
    sink: PackSink,
  ): Promise<void> {
    const offered = server.capabilities;
    if (request.depth > 0 && !offered.has("shallow")) {
      throw new UploadPackError("the server does not offer shallow fetches");
    }
    const wanted = ["thin-pack", "side-band-64k", "ofs-delta", "shallow", "no-progress"]
      .filter((c) => offered.has(c));
    if (!offered.has("side-band-64k") && offered.has("side-band")) wanted.push("side-band");
    const agent = [...offered].some((c) => c.startsWith("agent=")) ? [`agent=${AGENT}`] : [];
    const parts = [pktLine(`want ${request.want} ${[...wanted, ...agent].join(" ")}`)];
    for (const oid of request.shallows) parts.push(pktLine(`shallow ${oid}`));
    if (request.depth > 0) parts.push(pktLine(`deepen ${request.depth}`));
    parts.push(FLUSH);
    for (const oid of request.haves) parts.push(pktLine(`have ${oid}`));
    parts.push(pktLine("done"));
    const reader = new PktLineReader(await this.#post(concat(parts), request.maxBytes));
    try {
      // With a depth, the shallow lines come first, up to a flush.
      if (request.depth > 0) await textLines(reader);
      // Then ACK or NAK, then the pack.
      while (true) {
        const packet = await reader.read();
        if (!(packet instanceof Uint8Array)) {
          throw new UploadPackError("the server's fetch answer ended before the pack");
        }
        const text = packet[0] >= 0x20 ? packetText(packet) : "";
        if (text.startsWith("ACK ") || text === "NAK") continue;
        if (text.startsWith("ERR ")) throw new UploadPackError(text.slice(4));
        if (!wanted.includes("side-band-64k") && !wanted.includes("side-band")) {
          throw new UploadPackError("the server offers no side-band; its pack cannot be read");
        }
        await readSideBand(reader, sink, packet);
        return;
      }
    } finally {
      await reader.cancel();
    }
  }

  async #post(body: Uint8Array<ArrayBuffer>, maxBytes?: number) {
    const response = await this.#http.request({
      url: `${this.#url}/git-upload-pack`,
      method: "POST",
      headers: {
        "content-type": "application/x-git-upload-pack-request",
        "accept": "application/x-git-upload-pack-result",
        ...(this.#v2 ? { "git-protocol": "version=2" } : {}),
      },
      body,
      maxBytes,
    });
    checkContentType(response.headers, "application/x-git-upload-pack-result");
    return response.body;
  }
}

function v2Request(
  server: Extract<Server, { version: 2 }>,
  command: string,
  args: string[],
): Uint8Array<ArrayBuffer> {
  const parts = [pktLine(`command=${command}`)];
  if (server.capabilities.has("agent")) parts.push(pktLine(`agent=${AGENT}`));
  if (server.capabilities.has("object-format")) parts.push(pktLine("object-format=sha1"));
  parts.push(DELIM);
  for (const arg of args) parts.push(pktLine(arg));
  parts.push(FLUSH);
  return concat(parts);
}

async function readV0Listing(
  first: Packet | undefined,
  reader: PktLineReader,
): Promise<Extract<Server, { version: 0 }>> {
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  let packet = first;
  let firstLine = true;
  while (packet instanceof Uint8Array) {
    let line = packetText(packet);
    if (line.startsWith("ERR ")) throw new UploadPackError(line.slice(4));
    if (firstLine) {
      const nul = line.indexOf("\0");
      if (nul >= 0) {
        capabilities = new Set(line.slice(nul + 1).split(" ").filter(Boolean));
        line = line.slice(0, nul);
      }
      firstLine = false;
    }
    const [oid, name] = line.split(" ");
    if (!OID.test(oid ?? "") || !name) {
      throw new UploadPackError(`unexpected line in the ref listing: ${JSON.stringify(line)}`);
    }
    if (!name.endsWith("^{}") && name !== "capabilities^{}") refs.set(name, oid);
    packet = await reader.read();
  }
  if (packet !== "flush") {
    throw new UploadPackError("the ref listing did not end with a flush");
  }
  return { version: 0, capabilities, refs };
}

/** The text lines of a message, up to its flush. */
async function textLines(reader: PktLineReader): Promise<string[]> {
  const lines: string[] = [];
  while (true) {
    const packet = await reader.read();
    if (packet === "flush") return lines;
    if (!(packet instanceof Uint8Array)) {
      throw new UploadPackError("the server's answer was cut short");
    }
    const line = packetText(packet);
    if (line.startsWith("ERR ")) throw new UploadPackError(line.slice(4));
    lines.push(line);
  }
}

/**
 * Side-band: the first byte of each packet names its stream: 1 the pack, 2 progress (ignored),
 * 3 a fatal error. The pack ends at the flush.
 */
async function readSideBand(reader: PktLineReader, sink: PackSink, first?: Uint8Array) {
  let packet: Packet | undefined = first ?? await reader.read();
  while (packet instanceof Uint8Array) {
    const band = packet[0];
    if (band === 1) await sink(packet.subarray(1));
    else if (band === 3) {
      throw new UploadPackError(packetText(packet.subarray(1)).trim() || "the server failed");
    } else if (band !== 2) throw new UploadPackError(`unknown side-band stream ${band}`);
    packet = await reader.read();
  }
  if (packet !== "flush") throw new UploadPackError("the pack was cut short");
}

function checkContentType(headers: Headers, expected: string) {
  const type = headers.get("content-type")?.split(";")[0].trim();
  if (type !== expected) {
    throw new UploadPackError(
      `the server is not a smart Git HTTP server (content type ${type ?? "none"})`,
    );
  }
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
