// The gitfaas page: four views over the router's own JSON API, chosen by the URL's hash
// (#/, #/topics, #/runs, #/runs/<id>, #/playground). No framework and no build step: the DOM is
// built with createElement and textContent only, so nothing the API returns (topic names, error
// texts, results) is ever read as HTML.

const TOKEN_KEY = "gitfaas.token";
/** Seconds between reloads of a run that has not ended. */
const RUN_POLL_MS = 2000;
/** Seconds between reloads of the overview and the runs list. */
const LIST_POLL_MS = 5000;
const STATUSES = ["pending", "running", "succeeded", "failed", "deleted"];
const FINAL = new Set(["succeeded", "failed", "deleted"]);
/** A glyph per status, so status is told by shape and text as well as by colour. */
const GLYPHS = {
  pending: "◌",
  running: "◐",
  succeeded: "✓",
  failed: "✕",
  deleted: "⊘",
  changed: "✓",
  unchanged: "✓",
  usable: "✓",
  unusable: "✕",
  ok: "✓",
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const live = document.getElementById("live");
const notice = document.getElementById("notice");
const forgetToken = document.getElementById("forget-token");

// ---------------------------------------------------------------------------------------------
// The API

/** The router answered 401: the page needs the PUBLISH_TOKEN. */
class Unauthorized extends Error {}

/** The router answered with an error status and `{"error": "..."}`. */
class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** A JSON request to the router, with the token when there is one. */
async function api(path, init = {}) {
  const headers = new Headers(init.headers);
  headers.set("accept", "application/json");
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.set("authorization", `Bearer ${token}`);
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the message
  }
  if (response.status === 401) throw new Unauthorized(body?.error ?? "a token is needed");
  if (!response.ok) {
    const message = typeof body === "object" && body?.error
      ? body.error
      : `HTTP ${response.status}`;
    throw new ApiError(response.status, message, body);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

/** An element with attributes (`class`, `for`, data-*, properties for on* and booleans). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** A status as a badge: glyph, word and colour. */
function badge(status, text = status) {
  const known = STATUSES.includes(status) || status in GLYPHS ? status : "other";
  return h(
    "span",
    { class: `badge status-${known}` },
    h("span", { "aria-hidden": "true" }, GLYPHS[status] ?? "•"),
    ` ${text}`,
  );
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** A time as `<time>`: local date and time, and how long ago. */
function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  return h(
    "time",
    { datetime: iso, title: iso, "data-relative": "" },
    `${dateFormat.format(date)} (${ago(date)})`,
  );
}

// Views are drawn again only when their data changes (so a selection or a focus survives the
// polls); the "… ago" parts are brought up to date in place instead.
setInterval(() => {
  for (const element of document.querySelectorAll("time[data-relative]")) {
    const date = new Date(element.dateTime);
    element.textContent = `${dateFormat.format(date)} (${ago(date)})`;
  }
}, 15_000);

const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** A time of day as `<time>` (the run page has the date). */
function clock(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: iso }, clockFormat.format(new Date(iso)));
}

function ago(date) {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return relativeFormat.format(seconds, "second");
}

function duration(seconds) {
  // Clocks of different nodes can disagree: a negative span says nothing.
  if (seconds === null || seconds === undefined || seconds < 0) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${Math.round(seconds * 10) / 10} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 120
    ? `${minutes} min ${Math.round(seconds % 60)} s`
    : `${(minutes / 60).toFixed(1)} h`;
}

function secondsBetween(from, to) {
  if (!from) return null;
  const end = to ? new Date(to) : new Date();
  return (end.getTime() - new Date(from).getTime()) / 1000;
}

function short(id, length = 8) {
  return id ? String(id).slice(0, length) : "—";
}

/** A definition list from `[term, description]` pairs (undefined descriptions are left out). */
function facts(pairs, className = "facts") {
  return h(
    "dl",
    { class: className },
    pairs.filter(([, value]) => value !== undefined).map(([term, value]) => [
      h("dt", {}, term),
      h("dd", {}, value),
    ]),
  );
}

function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

/** A table; each cell carries its column's name for the narrow layout. */
function table(caption, columns, rows) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      {},
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))
        ),
      ),
    ),
  );
}

/** Replaces the view's content, keeping the focus on the element with the same `data-key`. */
function render(container, ...children) {
  const focused = document.activeElement?.dataset?.key;
  container.replaceChildren(...children.flat(Infinity).filter(Boolean));
  if (focused) container.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
}

let noticeTimer;

/** Says `message` in the status line at the bottom (read out by screen readers) for a while. */
function say(message) {
  notice.textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => notice.textContent = "", 8000);
}

function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error.message);
}

/** Asks a yes/no question in the page's dialog; resolves true on yes. */
function confirmDialog(title, text, yes) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-yes").textContent = yes;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), {
      once: true,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Views

/** Overview: what serves, how syncing goes, the webhook, settings, unusable topics. */
async function overview(view) {
  const status = await api("/status");
  if (view.signal.aborted) return;
  view.every(LIST_POLL_MS, () => overview(view));
  if (!view.changed(status)) return;
  showLive(status);
  const sync = status.lastSync;
  const webhook = status.webhook ?? { enabled: false };
  const delivery = webhook.lastDelivery;
  const push = webhook.lastPush;
  const unusable = Object.entries(status.unusableTopics ?? {});
  render(
    view.container,
    heading("Overview"),
    h(
      "div",
      { class: "grid" },
      section(
        "Live revision",
        status.revision
          ? facts([
            [
              "Revision",
              h("code", { class: "sha", title: status.revision }, short(status.revision, 12)),
            ],
            ["Live since", time(status.indexBuiltAt)],
            ["Topics", String(status.topics)],
            ["Repository", status.source?.url || "—"],
            ["Branch", status.source?.branch || "—"],
            ["Config file", status.source?.configPath || "—"],
          ])
          : h(
            "p",
            { class: "error" },
            "No topic index is loaded yet: the first sync has not succeeded.",
          ),
      ),
      section(
        "Last sync",
        sync
          ? facts([
            [
              "Outcome",
              badge(
                sync.outcome === "failed"
                  ? "failed"
                  : sync.outcome === "changed"
                  ? "changed"
                  : "unchanged",
                sync.outcome,
              ),
            ],
            ["When", time(sync.time)],
            ["Took", duration(sync.durationMs / 1000)],
            ["Revision", sync.revision ? h("code", {}, short(sync.revision, 12)) : undefined],
            ["Error", sync.error ? h("span", { class: "error-text" }, sync.error) : undefined],
            [
              "Problems",
              sync.problems?.length
                ? h(
                  "ul",
                  {},
                  sync.problems.map((p) => h("li", {}, p)),
                )
                : undefined,
            ],
            ["Last good sync", time(status.lastGoodSyncAt)],
            ["Failures in a row", String(status.consecutiveFailures ?? 0)],
          ])
          : h("p", {}, "No sync has finished yet."),
      ),
      section(
        "Webhook",
        webhook.enabled
          ? facts([
            ["State", badge("ok", "on")],
            ["Last delivery", delivery ? time(delivery.time) : "none yet"],
            ["Provider", delivery?.provider ?? undefined],
            ["Event", delivery?.event ?? undefined],
            ["Answer", delivery ? `${delivery.outcome} (HTTP ${delivery.status})` : undefined],
            ["Detail", delivery?.detail ?? undefined],
            [
              "Last push",
              push ? `${push.state}: ${short(push.revision, 12)} (${push.ref})` : undefined,
            ],
            ["Push error", push?.error ?? undefined],
          ])
          : h("p", {}, "Off: set WEBHOOK_SECRET to sync on signed pushes."),
      ),
      section(
        "Settings",
        facts([
          [
            "Mode",
            status.mode === "apply"
              ? "apply: publishes go to the cluster"
              : status.mode === "render-only"
              ? "render-only: publishes are rendered and checked, nothing is applied"
              : "—",
          ],
          ["Namespace", status.namespace ?? "—"],
          ["Poll interval", pollText(status.pollIntervalSeconds)],
        ]),
      ),
    ),
    section(
      "Unusable topics",
      unusable.length === 0
        ? h("p", {}, badge("usable", "none"), " Every topic can be published to.")
        : h(
          "ul",
          { class: "problems" },
          unusable.map(([name, problems]) =>
            h(
              "li",
              {},
              h("strong", {}, name),
              ": ",
              badge("unusable"),
              h("ul", {}, problems.map((p) => h("li", {}, p))),
            )
          ),
        ),
    ),
  );
}

function pollText(seconds) {
  if (seconds === null) return "none: a folder is watched for changes";
  if (seconds === undefined) return "—";
  if (seconds === 0) return "off: webhooks and /refresh only";
  return `every ${seconds} s`;
}

/** Fills the header's live revision from `/status`; a failure is left to the view to show. */
async function refreshLive(signal) {
  try {
    const status = await api("/status");
    if (!signal.aborted) showLive(status);
  } catch {
    // the view's own request reports what is wrong (or asks for the token)
  }
}

/** The live revision in the header. */
function showLive(status) {
  live.replaceChildren(
    status.revision
      ? h("span", {}, "live ", h("code", { title: status.revision }, short(status.revision, 7)))
      : h("span", {}, "no index yet"),
  );
}

/** Topics: files, kinds, usable or not, recent requests. */
async function topics(view) {
  const answer = await api("/topics");
  if (view.signal.aborted) return;
  render(
    view.container,
    heading("Topics"),
    h(
      "p",
      {},
      `${answer.topics.length} topics at revision `,
      h("code", {}, short(answer.revision, 12)),
      ".",
    ),
    table(
      "Topics",
      ["Topic", "Manifests", "Kinds", "Status", "Recent requests"],
      answer.topics.map((topic) => [
        h(
          "span",
          {},
          h("strong", {}, topic.name),
          " ",
          h(
            "a",
            { href: `#/playground/${encodeURIComponent(topic.name)}`, class: "small" },
            "try it",
          ),
        ),
        h("ul", { class: "plain" }, topic.manifests.map((m) => h("li", {}, h("code", {}, m)))),
        h(
          "ul",
          { class: "plain" },
          (topic.kinds ?? []).map((k) =>
            h(
              "li",
              { title: k.apiVersion },
              `${k.kind} `,
              h("span", { class: "muted" }, k.apiVersion),
            )
          ),
        ),
        topic.usable ? badge("usable") : h(
          "div",
          {},
          badge("unusable"),
          h("ul", { class: "problems" }, (topic.problems ?? []).map((p) => h("li", {}, p))),
        ),
        recentRequests(topic.name),
      ]),
    ),
  );
}

/** A disclosure that loads a topic's recent requests when opened. */
function recentRequests(topic) {
  const list = h("div", { class: "requests" });
  const details = h(
    "details",
    {
      ontoggle: async () => {
        if (!details.open) return;
        list.replaceChildren(h("p", { class: "loading" }, "Loading…"));
        try {
          const answer = await api(`/requests?topic=${encodeURIComponent(topic)}&limit=10`);
          list.replaceChildren(
            answer.requests.length === 0
              ? h("p", { class: "muted" }, "No requests in the cluster.")
              : h(
                "ul",
                { class: "plain" },
                answer.requests.map((r) =>
                  h(
                    "li",
                    {},
                    badge(r.status),
                    " ",
                    r.runId
                      ? h("a", { href: `#/runs/${r.runId}` }, short(r.requestUuid))
                      : h("code", {}, short(r.requestUuid)),
                    " ",
                    time(r.createdAt),
                    r.reason ? h("span", { class: "error-text" }, ` ${r.reason}`) : null,
                  )
                ),
              ),
          );
        } catch (error) {
          if (error instanceof Unauthorized) return askForToken();
          list.replaceChildren(
            error instanceof ApiError && error.status === 404
              ? h("p", { class: "muted" }, `No requests to show: ${error.message}.`)
              : errorBox(error),
          );
        }
      },
    },
    h("summary", { "data-key": `requests-${topic}` }, "Show"),
    list,
  );
  return details;
}

/** Runs: the newest first. */
async function runs(view) {
  let answer;
  try {
    answer = await api("/runs?limit=50");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      render(
        view.container,
        heading("Runs"),
        h("p", { class: "error" }, `No runs to show: ${error.message}.`),
      );
      return;
    }
    throw error;
  }
  if (view.signal.aborted) return;
  view.every(LIST_POLL_MS, () => runs(view));
  if (!view.changed(answer)) return;
  render(
    view.container,
    heading("Runs"),
    answer.runs.length === 0 ? h("p", {}, "No runs yet: every publish starts one.") : table(
      "Runs",
      ["Run", "Status", "Topic", "Started", "Duration", "Steps"],
      answer.runs.map((run) => [
        h(
          "a",
          { href: `#/runs/${run.runId}`, "data-key": `run-${run.runId}`, class: "mono" },
          short(run.runId, 12),
        ),
        badge(run.status),
        run.topic,
        time(run.createdAt),
        duration(run.durationSeconds ?? secondsBetween(run.createdAt, run.finishedAt)),
        String(run.requests?.length ?? 0),
      ]),
    ),
  );
}

/** One run: the pipeline as a tree, each step with its objects, timings, reason and result. */
async function run(view, runId) {
  let answer;
  try {
    answer = await api(`/runs/${encodeURIComponent(runId)}`);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    render(
      view.container,
      heading(`Run ${short(runId, 12)}`),
      h(
        "p",
        { class: "error" },
        `The cluster has nothing of this run (any more): its Jobs were cancelled or removed ` +
          `after their TTL. The router said: ${error.message}.`,
      ),
      h("a", { href: "#/runs" }, "All runs"),
    );
    return;
  }
  if (view.signal.aborted) return;
  // A run has failed as soon as one step failed, while other steps may still run: it is done
  // only when every step is.
  const final = FINAL.has(answer.status) &&
    answer.requests.every((r) => FINAL.has(r.status));
  if (!final) view.every(RUN_POLL_MS, () => run(view, runId));
  if (!view.changed(answer)) return;
  const byUuid = new Map(answer.requests.map((r) => [r.requestUuid, r]));
  const roots = answer.requests.filter((r) => !r.parent || !byUuid.has(r.parent));
  const cancel = h(
    "button",
    {
      type: "button",
      class: "danger",
      "data-key": "cancel",
      disabled: final,
      onclick: async () => {
        const yes = await confirmDialog(
          "Cancel this run?",
          `Every Job of run ${short(runId, 12)} is deleted, with its pods. This cannot be undone.`,
          "Cancel the run",
        );
        if (!yes) return;
        try {
          const result = await api(`/runs/${encodeURIComponent(runId)}`, { method: "DELETE" });
          // Its Jobs are gone, so the cluster no longer knows the run: what was deleted is
          // shown instead of reloading it.
          view.stop();
          render(
            view.container,
            heading(`Run ${short(runId, 12)} cancelled`, badge("deleted")),
            h("p", {}, `${result.deleted.length} objects deleted:`),
            h(
              "ul",
              { class: "plain" },
              result.deleted.map((d) =>
                h(
                  "li",
                  {},
                  `${d.kind} `,
                  h("code", {}, d.name),
                  ` (${d.outcome === "gone" ? "already gone" : "deleted"})`,
                )
              ),
            ),
            h("a", { href: "#/runs" }, "All runs"),
          );
          main.querySelector("h1")?.focus();
        } catch (error) {
          if (error instanceof Unauthorized) return askForToken();
          say(`Cancel failed: ${error.message}`);
        }
      },
    },
    "Cancel run",
  );
  render(
    view.container,
    heading(`Run ${short(runId, 12)}`, badge(answer.status)),
    h(
      "div",
      { class: "run-head" },
      facts([
        ["Status", badge(answer.status)],
        ["Root topic", answer.topic],
        ["Started", time(answer.createdAt)],
        ["Finished", final ? time(answer.finishedAt) : h("span", { class: "muted" }, "not yet")],
        [
          "Duration",
          duration(answer.durationSeconds ?? secondsBetween(answer.createdAt, answer.finishedAt)),
        ],
        ["Run id", h("code", {}, answer.runId)],
      ]),
      h(
        "div",
        { class: "actions" },
        cancel,
        h(
          "p",
          { class: "muted small", id: "updates" },
          final
            ? "Final: no more updates."
            : `Updates every ${RUN_POLL_MS / 1000} s while it runs.`,
        ),
      ),
    ),
    h("h2", {}, "Pipeline"),
    h("ol", { class: "tree", "aria-label": "Steps of the run" }, roots.map((r) => step(r, byUuid))),
  );
}

/** A step of the tree and, nested, the steps it started. */
function step(request, byUuid) {
  const children = (request.children ?? []).map((uuid) => byUuid.get(uuid)).filter(Boolean);
  const objects = request.objects ?? [];
  return h(
    "li",
    {},
    h(
      "article",
      {
        class: `step status-${request.status}`,
        "aria-label": `${request.topic}: ${request.status}`,
      },
      h("h3", {}, request.topic, " ", badge(request.status)),
      facts(
        [
          ["Request", h("code", { title: request.requestUuid }, short(request.requestUuid))],
          ["Created", clock(request.createdAt)],
          ["Started", request.startedAt ? clock(request.startedAt) : undefined],
          ["Finished", request.finishedAt ? clock(request.finishedAt) : undefined],
          [
            "Took",
            request.startedAt
              ? duration(secondsBetween(request.startedAt, request.finishedAt))
              : undefined,
          ],
          [
            "Reason",
            request.reason ? h("span", { class: "error-text" }, request.reason) : undefined,
          ],
        ],
        "facts compact",
      ),
      objects.length > 0
        ? h(
          "ul",
          { class: "objects" },
          objects.map((o) =>
            h(
              "li",
              {},
              badge(o.status),
              " ",
              h("span", {}, `${o.kind} `, h("code", {}, o.name)),
              o.reason ? h("span", { class: "error-text" }, ` ${o.reason}`) : null,
              o.exitCode !== undefined
                ? h("span", { class: "error-text" }, ` exit code ${o.exitCode}`)
                : null,
              o.message ? h("div", { class: "message" }, o.message) : null,
              o.pods?.length
                ? h(
                  "ul",
                  { class: "pods" },
                  o.pods.map((p) =>
                    h(
                      "li",
                      {},
                      `pod ${p.name}: ${p.phase}`,
                      p.reason ? ` (${p.reason})` : "",
                      p.exitCode !== undefined ? `, exit ${p.exitCode}` : "",
                    )
                  ),
                )
                : null,
            )
          ),
        )
        : null,
      request.result ? result(request) : null,
    ),
    children.length > 0
      ? h("ol", { class: "children" }, children.map((c) => step(c, byUuid)))
      : null,
  );
}

function result(request) {
  const r = request.result;
  return h(
    "div",
    { class: "result" },
    h("h4", {}, `Result: ${r.contentType}, ${r.bytes} bytes`),
    r.preview !== undefined
      ? h("pre", { tabindex: "0" }, r.preview)
      : h("p", { class: "muted" }, "Binary: no preview."),
  );
}

/** Playground: the objects a publish would apply, and what would refuse it. */
async function playground(view, selected) {
  const answer = await api("/topics");
  if (view.signal.aborted) return;
  const names = answer.topics.map((t) => t.name);
  const chosen = names.includes(selected) ? selected : names[0];
  const output = h("div", { class: "output", "aria-live": "polite" });
  const topicSelect = h(
    "select",
    { id: "pg-topic", name: "topic" },
    answer.topics.map((t) =>
      h(
        "option",
        { value: t.name, selected: t.name === chosen },
        t.usable ? t.name : `${t.name} (unusable)`,
      )
    ),
  );
  const valuesOf = (name) =>
    (answer.topics.find((t) => t.name === name)?.values ?? []).map((v) => `${v}=`).join("\n");
  const query = h("textarea", {
    id: "pg-query",
    name: "query",
    rows: 4,
    spellcheck: "false",
    placeholder: "name=value, one per line",
  });
  query.value = valuesOf(chosen);
  topicSelect.addEventListener("change", () => {
    query.value = valuesOf(topicSelect.value);
    history.replaceState(null, "", `#/playground/${encodeURIComponent(topicSelect.value)}`);
  });
  const body = h("textarea", {
    id: "pg-body",
    name: "body",
    rows: 8,
    spellcheck: "false",
    placeholder: '{"source": "greenhouse"}',
  });
  const type = h(
    "select",
    { id: "pg-type", name: "type" },
    h("option", { value: "application/json" }, "application/json"),
    h("option", { value: "text/plain" }, "text/plain"),
  );
  const submit = async (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const line of query.value.split("\n")) {
      if (line.trim() === "") continue;
      const at = line.indexOf("=");
      params.append(
        at === -1 ? line.trim() : line.slice(0, at).trim(),
        at === -1 ? "" : line.slice(at + 1),
      );
    }
    const search = params.size > 0 ? `?${params}` : "";
    output.replaceChildren(h("p", { class: "loading" }, "Rendering…"));
    try {
      const preview = await api(`/render/${encodeURIComponent(topicSelect.value)}${search}`, {
        method: "POST",
        headers: { "content-type": type.value },
        body: body.value,
      });
      output.replaceChildren(...previewView(preview).flat(Infinity));
    } catch (error) {
      if (error instanceof Unauthorized) return askForToken();
      output.replaceChildren(
        h("h2", {}, "Problems"),
        h("ul", { class: "problems" }, h("li", {}, badge("failed", "refused"), " ", error.message)),
      );
    }
  };
  const form = h(
    "form",
    { class: "playground", onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: "pg-topic" }, "Topic"), topicSelect),
    h("div", { class: "field" }, h("label", { for: "pg-type" }, "Content type"), type),
    h(
      "div",
      { class: "field wide" },
      h("label", { for: "pg-query" }, "Query values"),
      h(
        "p",
        { class: "hint", id: "pg-query-hint" },
        "One name=value per line; built-ins (MESSAGE, REQUEST_UUID…) cannot be set.",
      ),
      query,
    ),
    h("div", { class: "field wide" }, h("label", { for: "pg-body" }, "Body"), body),
    h(
      "div",
      { class: "actions wide" },
      h("button", { type: "submit", class: "primary" }, "Render"),
      h("span", { class: "muted small" }, "Nothing is applied. Ctrl+Enter renders too."),
    ),
  );
  query.setAttribute("aria-describedby", "pg-query-hint");
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  render(
    view.container,
    heading("Playground"),
    h(
      "p",
      {},
      "Pick a topic, type a body and query values: see the objects a publish would apply, rendered from the live revision, and what would refuse it.",
    ),
    form,
    output,
  );
}

function previewView(preview) {
  return [
    h("h2", {}, "Problems"),
    preview.problems.length === 0
      ? h("p", {}, badge("usable", "none"), " A publish with these values would be accepted.")
      : h(
        "ul",
        { class: "problems" },
        preview.problems.map((p) => h("li", {}, badge("failed", "problem"), " ", p)),
      ),
    h(
      "h2",
      {},
      `Objects (${preview.objects.length}) at revision `,
      h("code", {}, short(preview.revision, 12)),
    ),
    preview.objects.map((o) =>
      h(
        "section",
        { class: "card object" },
        h(
          "h3",
          {},
          `${o.kind} `,
          h("code", {}, o.name ?? "?"),
          h(
            "span",
            { class: "muted" },
            ` ${o.apiVersion}${
              o.namespace ? `, namespace ${o.namespace}` : ""
            }, from ${o.manifest}`,
          ),
        ),
        h("pre", { tabindex: "0" }, JSON.stringify(o.object, null, 2)),
      )
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Token

/** Shows only the token form; the page comes back once a token is accepted. */
function askForToken() {
  current?.stop();
  nav.hidden = true;
  live.replaceChildren();
  forgetToken.hidden = true;
  const had = sessionStorage.getItem(TOKEN_KEY) !== null;
  sessionStorage.removeItem(TOKEN_KEY);
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "token-hint",
  });
  main.replaceChildren(
    h("h1", { tabindex: "-1" }, "Token needed"),
    h(
      "form",
      {
        class: "token",
        onsubmit: (event) => {
          event.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, input.value.trim());
          show();
        },
      },
      h(
        "p",
        { id: "token-hint" },
        had ? "That token was refused. " : "",
        "This router needs its PUBLISH_TOKEN. It is kept in this tab only (session storage) and sent as a bearer token.",
      ),
      h("div", { class: "field" }, h("label", { for: "token" }, "Token"), input),
      h("button", { type: "submit", class: "primary" }, "Show the page"),
    ),
  );
  input.focus();
}

forgetToken.addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  say("Token forgotten.");
  show();
});

// ---------------------------------------------------------------------------------------------
// Routing

function heading(text, ...extra) {
  return h("h1", { tabindex: "-1" }, text, extra.length ? " " : null, ...extra);
}

/** The view for a hash: `#/`, `#/topics`, `#/runs`, `#/runs/<id>`, `#/playground[/<topic>]`. */
function route(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return { name: "overview", load: overview };
    case "topics":
      return { name: "topics", load: topics };
    case "runs":
      return parts[1]
        ? { name: "runs", load: (view) => run(view, parts[1]) }
        : { name: "runs", load: runs };
    case "playground":
      return { name: "playground", load: (view) => playground(view, parts[1]) };
    default:
      return {
        name: "unknown",
        load: (view) =>
          render(
            view.container,
            heading("Not found"),
            h("p", {}, "No such view. "),
            h("a", { href: "#/" }, "Overview"),
          ),
      };
  }
}

let current;

/** Shows the view of the current hash; the previous view's polling stops. */
function show({ focus = false } = {}) {
  current?.stop();
  const target = route(location.hash);
  const controller = new AbortController();
  let timer;
  let last;
  const view = {
    container: main,
    signal: controller.signal,
    /** Runs `reload` after `ms`, unless the view has been left. */
    every(ms, reload) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!controller.signal.aborted) view.load(reload);
      }, ms);
    },
    /** Whether `data` differs from what the view last drew. */
    changed(data) {
      const text = JSON.stringify(data);
      if (text === last) return false;
      last = text;
      return true;
    },
    async load(step) {
      try {
        await step();
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof Unauthorized) return askForToken();
        render(
          main,
          heading("Something went wrong"),
          errorBox(error),
          h("button", { type: "button", onclick: () => show() }, "Try again"),
        );
      }
    },
    stop() {
      controller.abort();
      clearTimeout(timer);
    },
  };
  current = view;
  nav.hidden = false;
  if (target.name !== "overview") refreshLive(controller.signal);
  forgetToken.hidden = sessionStorage.getItem(TOKEN_KEY) === null;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === target.name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  return view.load(async () => {
    await target.load(view);
    if (focus && !controller.signal.aborted) main.querySelector("h1")?.focus();
  });
}

// The skip link's #main is not a view: it only moves the focus.
document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
addEventListener("hashchange", () => show({ focus: true }));
show();
