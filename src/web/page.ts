/**
 * The web page: `src/web/assets/` (HTML, CSS, one ES module) read once at start and served by
 * the router itself at `GET /` and `/assets/<file>`, with no build step and nothing from the
 * internet. The page reads the router's own JSON API; these files hold no data.
 *
 * Assets are addressed by content (`/assets/app.js?v=<hash>`, the hash written into the HTML at
 * load), so browsers keep them for a year and a new router's page never runs an old script; the
 * HTML itself is revalidated on every visit (ETag).
 * @module
 */

import { createHash } from "node:crypto";

/** One file the page is made of, ready to serve. */
interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Strong ETag of the body. */
  etag: string;
  /** Short content hash, the `v` of its URL. */
  version: string;
}

/** The page's files by URL path (`/`, `/assets/app.js`…). */
export interface WebPage {
  /** The answer for `request` (GET or HEAD), or undefined when its path is not a page file. */
  serve(request: Request): Response | undefined;
}

const ASSETS_DIR = new URL("./assets/", import.meta.url);
const FILES: Record<string, string> = {
  "app.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "icon.svg": "image/svg+xml",
};

/**
 * Scripts, styles, images and API calls from this origin only; no inline script or style, no
 * plugins, no framing, no `<base>`, forms post only here.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; " +
  "form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

const encoder = new TextEncoder();

/** Reads the page's files from `src/web/assets/` (once, at start). */
export async function loadWebPage(): Promise<WebPage> {
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = await Deno.readFile(new URL(name, ASSETS_DIR));
    assets.set(`/assets/${name}`, asset(body, contentType));
  }
  let html = await Deno.readTextFile(new URL("index.html", ASSETS_DIR));
  for (const name of Object.keys(FILES)) {
    const path = `/assets/${name}`;
    html = html.replaceAll(`"${path}"`, `"${path}?v=${assets.get(path)!.version}"`);
  }
  const page = asset(encoder.encode(html), "text/html; charset=utf-8");
  return {
    serve(request) {
      const url = new URL(request.url);
      if (url.pathname === "/") {
        return answer(request, page, "no-cache");
      }
      const found = assets.get(url.pathname);
      if (!found) return undefined;
      // Only the current version may be kept: a stale `v` (an old page) is revalidated.
      const cache = url.searchParams.get("v") === found.version
        ? "public, max-age=31536000, immutable"
        : "no-cache";
      return answer(request, found, cache);
    },
  };
}

function asset(body: Uint8Array<ArrayBuffer>, contentType: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex");
  return { body, contentType, etag: `"${hash.slice(0, 32)}"`, version: hash.slice(0, 12) };
}

function answer(request: Request, asset: Asset, cacheControl: string): Response {
  const headers = {
    ...SECURITY_HEADERS,
    "content-type": asset.contentType,
    "cache-control": cacheControl,
    etag: asset.etag,
    "content-length": String(asset.body.byteLength),
  };
  if (notModified(request.headers.get("if-none-match"), asset.etag)) {
    const { "content-length": _, ...rest } = headers;
    return new Response(null, { status: 304, headers: rest });
  }
  return new Response(request.method === "HEAD" ? null : asset.body, { headers });
}

/** RFC 9110 §13.1.2: a list of entity tags, or `*`; weak ones compare equal too. */
function notModified(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) =>
    t === "*" || t === etag
  );
}
