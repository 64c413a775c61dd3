/**
 * Push fan-out (issue 18): after a signed push delivery to one of three router processes, how
 * long until every one of them serves the pushed commit. One Git server with a repository of
 * 1,000 manifests, the API server simulator, three routers (each its own DATA_DIR and POD_NAME,
 * as each pod has its own emptyDir and name), `GIT_POLL_INTERVAL=3600`: only the fan-out
 * through the `gitfaas-sync` ConfigMap brings the two that did not get the delivery along.
 *
 * Each round pushes two commits that change one manifest each (the pushes are not timed):
 *
 * 1. the floor: `GET /refresh` on one replica, timed to its answer (one sync of a one-file
 *    change, in this process, under this run's load);
 * 2. the measurement: the delivery sent to one replica in turn; from its answer, each replica's
 *    `/readyz` is polled every {@linkcode POLL_MS} ms until it reports the pushed commit.
 *
 * The receiver's own time is the local follow (a second floor: the same sync, started by the
 * delivery itself); the two others' times are the fan-out. Where the time goes is read from what
 * the routers say: the request's `at` on the shared object (`/status`), and each replica's
 * "topic index updated" log line (its end and its duration, so its start).
 * @module
 */

import { ECHO_JOB, manyManifests } from "../tests/support/fixtures.ts";
import { RouterProcess } from "../tests/support/router_process.ts";
import { deliveryHeaders, pushPayload } from "../tests/support/webhook_payloads.ts";
import { BenchChild } from "./lib/child.ts";
import { cpuMsOf, findChildren } from "./lib/proc.ts";
import { type BenchContext, routerEnv } from "./lib/context.ts";
import { type Distribution, distribution } from "./lib/stats.ts";

/** Manifests in the followed repository. */
export const FANOUT_MANIFESTS = 1_000;
/** Router processes. */
export const FANOUT_REPLICAS = 3;
/** How often each replica's `/readyz` is asked while a push is on its way. */
export const POLL_MS = 5;
const SECRET = "bench-fanout-webhook-secret";
/** The replicas' shared objects live here, away from what other sections leave in `default`. */
const POD_NAMESPACE = "gitfaas-fanout";
/** A push not served everywhere after this long counts as lost and ends the run. */
const GIVE_UP_MS = 30_000;

/** One replica's times over every measured push, in ms from the delivery's answer. */
export interface ReplicaTimes {
  name: string;
  /** Pushes this replica received itself (its local follow). */
  received: number;
  afterAnswer: Distribution;
}

/** What the fan-out section measured. */
export interface FanoutResult {
  manifests: number;
  replicas: number;
  /** Measured deliveries (one per round), after the warm-up. */
  pushes: number;
  pollMs: number;
  loadAverageAtStart: string;
  loadAverageAtEnd: string;
  /** Per replica, from the answer to its `/readyz` reporting the commit. */
  perReplica: ReplicaTimes[];
  /** Every replica and push together. */
  overall: Distribution;
  /** Per push, the last of the three: "every replica serves it" (the target's number). */
  lastOfThree: Distribution;
  /** The replica that received the delivery (floor: the local follow). */
  receiver: Distribution;
  /** The two that did not (the fan-out). */
  followers: Distribution;
  /** Floor: `GET /refresh` on one replica, request to answer. */
  refresh: Distribution;
  /** The delivery, sent to answered (the receiver records the request before answering). */
  deliveryAnswer: Distribution;
  /** Replica times that ended before the answer arrived (counted as 0 above). */
  beforeAnswer: number;
  /**
   * CPU time of the three router processes over the measured rounds (a round: one /refresh on
   * one replica and one delivery synced by all three): per index update, and per round.
   */
  cpu: { msPerSync: number; msPerPush: number; syncs: number };
  /**
   * One sync after a one-file push, alone in a process of its own (`sync_phases.ts`), by phase;
   * `packs`: packs in its cache after the last one (each fetch adds one).
   */
  phases:
    & Record<
      "headMs" | "fetchMs" | "buildMs" | "rememberMs" | "totalMs" | "pruneMs",
      Distribution
    >
    & {
      packs: number;
    };
  /** Every measured push: which replica received it, and each replica's ms after the answer. */
  samples: { receiver: number; afterAnswerMs: number[] }[];
  /** Where a follower's time goes, ms. */
  breakdown: {
    /** The request recorded (`at`, just before the API write) to the delivery's answer. */
    recordToAnswer: Distribution;
    /** The request recorded to a follower's sync starting: the watch and its wake-up. */
    recordToFollowerSync: Distribution;
    /** A follower's sync (ask the branch head, fetch, build the index), as it logs it. */
    followerSync: Distribution;
    /** The receiver's sync, as it logs it. */
    receiverSync: Distribution;
    /** A follower's sync end to its `/readyz` reporting the commit (log and polling lag). */
    syncEndToSeen: Distribution;
  };
}

/** Runs the fan-out measurement. */
export async function runFanoutBench(context: BenchContext): Promise<FanoutResult> {
  const loadAverageAtStart = loadAverage();
  const rounds = context.quick ? 6 : 45;
  const warmup = FANOUT_REPLICAS;
  const files = manyManifests(FANOUT_MANIFESTS);
  const repo = await context.git.createRepo("fanout", { files });
  await createNamespace(context, POD_NAMESPACE);
  const routers: RouterProcess[] = [];
  const pids: number[] = [];
  try {
    for (let i = 0; i < FANOUT_REPLICAS; i++) {
      const before = new Set(findChildren("main.ts"));
      routers.push(
        await RouterProcess.start({
          ...routerEnv(context, "fanout", `${context.work}/fanout-r${i}`),
          WEBHOOK_SECRET: SECRET,
          POD_NAME: `fanout-r${i}`,
          POD_NAMESPACE,
        }),
      );
      pids.push(findChildren("main.ts").find((pid) => !before.has(pid))!);
    }
    for (const router of routers) {
      await router.waitFor(async () => (await router.call("/readyz")).status === 200, 120_000);
    }
    const names = routers.map((_, i) => `fanout-r${i}`);
    const measured: PushTimes[] = [];
    const refresh: number[] = [];
    let edits = 0;
    const pushOne = () => {
      const n = edits++;
      const i = (n * 37) % FANOUT_MANIFESTS;
      const path = `jobs/${Math.floor(i / 100)}/job-${i}.yaml`;
      const content = ECHO_JOB.replace("echo-{{RANDOM}}", `job-${i}-{{RANDOM}}`)
        .replace("ttlSecondsAfterFinished: 600", `ttlSecondsAfterFinished: ${601 + n}`);
      return repo.commitAndPush({ [path]: content }, `edit ${path}`);
    };
    let cpuAtStart: number[] = [];
    let syncsAtStart: number[] = [];
    for (let round = 0; round < warmup + rounds; round++) {
      if (round === warmup) {
        cpuAtStart = pids.map((pid) => cpuMsOf(pid));
        syncsAtStart = routers.map(indexUpdates);
      }
      const replica = round % FANOUT_REPLICAS;
      const sha = await pushOne();
      const t0 = performance.now();
      const answer = await routers[replica].call("/refresh");
      if (answer.status !== 200 || answer.body.revision !== sha) {
        throw new Error(`/refresh answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      }
      if (round >= warmup) refresh.push(performance.now() - t0);
      const times = await deliver(routers, replica, await pushOne(), context.git.repoUrl("fanout"));
      if (round >= warmup) measured.push(times);
      if (round % 5 === 4) {
        context.progress(
          `fanout: ${round + 1}/${warmup + rounds} rounds; last push served everywhere ` +
            `${Math.round(Math.max(...times.afterAnswer))} ms after the answer`,
        );
      }
    }
    const cpuMs = pids.map((pid, r) => cpuMsOf(pid) - cpuAtStart[r]);
    const syncs = routers.map((router, r) => indexUpdates(router) - syncsAtStart[r]);
    const breakdown = explain(routers, measured);
    const phases = await syncPhases(context, pushOne, context.quick ? 5 : 20);
    const all = measured.flatMap((m) => m.afterAnswer.map((ms) => Math.max(0, ms)));
    return {
      manifests: FANOUT_MANIFESTS,
      replicas: FANOUT_REPLICAS,
      pushes: measured.length,
      pollMs: POLL_MS,
      loadAverageAtStart,
      loadAverageAtEnd: loadAverage(),
      perReplica: names.map((name, r) => ({
        name,
        received: measured.filter((m) => m.receiver === r).length,
        afterAnswer: distribution(measured.map((m) => Math.max(0, m.afterAnswer[r]))),
      })),
      overall: distribution(all),
      lastOfThree: distribution(measured.map((m) => Math.max(0, ...m.afterAnswer))),
      receiver: distribution(measured.map((m) => Math.max(0, m.afterAnswer[m.receiver]))),
      followers: distribution(
        measured.flatMap((m) =>
          m.afterAnswer.filter((_, r) => r !== m.receiver).map((ms) => Math.max(0, ms))
        ),
      ),
      refresh: distribution(refresh),
      deliveryAnswer: distribution(measured.map((m) => m.answerMs)),
      beforeAnswer: measured.flatMap((m) => m.afterAnswer).filter((ms) => ms < 0).length,
      breakdown,
      cpu: {
        msPerSync: Math.round(cpuMs.reduce((a, b) => a + b, 0) / syncs.reduce((a, b) => a + b, 0)),
        msPerPush: Math.round(cpuMs.reduce((a, b) => a + b, 0) / measured.length),
        syncs: syncs.reduce((a, b) => a + b, 0),
      },
      phases,
      samples: measured.map((m) => ({
        receiver: m.receiver,
        afterAnswerMs: m.afterAnswer.map((ms) => Math.round(ms)),
      })),
    };
  } finally {
    for (const router of routers) await router.stop();
  }
}

/** One measured delivery. */
interface PushTimes {
  sha: string;
  receiver: number;
  /** Sent to answered, ms. */
  answerMs: number;
  /** Wall-clock time of the answer (to compare with the routers' log times). */
  answeredAt: number;
  /** Wall-clock time the receiver recorded the request (its `at`), when it was read back. */
  recordedAt: number | undefined;
  /** Per replica: from the answer to `/readyz` reporting `sha` (negative: before it), ms. */
  afterAnswer: number[];
  /** Per replica: wall-clock time `/readyz` first reported `sha`. */
  seenAt: number[];
}

/**
 * Sends the signed delivery of `sha` to replica `receiver` while every replica's `/readyz` is
 * polled, and returns when all of them serve it.
 */
async function deliver(
  routers: RouterProcess[],
  receiver: number,
  sha: string,
  repoUrl: string,
): Promise<PushTimes> {
  const body = JSON.stringify(pushPayload("github", { repoUrl, after: sha }));
  const headers = await deliveryHeaders("github", body, { secret: SECRET });
  const seen = routers.map((router) => seenServing(router, sha));
  const sent = performance.now();
  const answer = await routers[receiver].call("/webhook/git", { method: "POST", headers, body });
  const answered = performance.now();
  const answeredAt = Date.now();
  if (answer.status !== 202) {
    throw new Error(`the delivery answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }
  const times = await Promise.all(seen);
  // The request as the shared object holds it, read through a replica that did not record it.
  const { body: status } = await routers[(receiver + 1) % routers.length].call("/status");
  const request = status.replicas?.lastRequest;
  return {
    sha,
    receiver,
    answerMs: answered - sent,
    answeredAt,
    recordedAt: request?.revision === sha ? Date.parse(request.at) : undefined,
    afterAnswer: times.map((t) => t.at - answered),
    seenAt: times.map((t) => t.wall),
  };
}

/** Polls `/readyz` every POLL_MS ms until it reports `sha`; when (monotonic and wall clock). */
async function seenServing(
  router: RouterProcess,
  sha: string,
): Promise<{ at: number; wall: number }> {
  const deadline = performance.now() + GIVE_UP_MS;
  for (;;) {
    const response = await router.fetch("/readyz");
    const text = await response.text();
    const at = performance.now();
    if (response.status === 200 && JSON.parse(text).revision === sha) {
      return { at, wall: Date.now() };
    }
    if (at > deadline) {
      const log = router.output.split("\n").slice(-40).join("\n");
      throw new Error(`${router.url} still serves ${text} ${GIVE_UP_MS} ms after a push:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** How many times `router` has logged a new index. */
function indexUpdates(router: RouterProcess): number {
  return router.logs().filter((line) => line.message === "topic index updated").length;
}

/** Where the followers' time went, from the routers' logs and the recorded requests. */
function explain(
  routers: RouterProcess[],
  measured: PushTimes[],
): FanoutResult["breakdown"] {
  // Each replica's index updates by revision: when the sync started and how long it took.
  const syncs = routers.map((router) => {
    const bySha = new Map<string, { start: number; end: number; durationMs: number }>();
    for (const line of router.logs()) {
      if (line.message !== "topic index updated") continue;
      const end = Date.parse(String(line.time));
      const durationMs = Number(line.durationMs);
      bySha.set(String(line.revision), { start: end - durationMs, end, durationMs });
    }
    return bySha;
  });
  const out = {
    recordToAnswer: [] as number[],
    recordToFollowerSync: [] as number[],
    followerSync: [] as number[],
    receiverSync: [] as number[],
    syncEndToSeen: [] as number[],
  };
  for (const push of measured) {
    const at = push.recordedAt;
    if (at !== undefined) out.recordToAnswer.push(push.answeredAt - at);
    routers.forEach((_, r) => {
      const sync = syncs[r].get(push.sha);
      if (!sync) return;
      if (r === push.receiver) {
        out.receiverSync.push(sync.durationMs);
        return;
      }
      out.followerSync.push(sync.durationMs);
      out.syncEndToSeen.push(push.seenAt[r] - sync.end);
      if (at !== undefined) out.recordToFollowerSync.push(sync.start - at);
    });
  }
  return {
    recordToAnswer: distribution(out.recordToAnswer),
    recordToFollowerSync: distribution(out.recordToFollowerSync),
    followerSync: distribution(out.followerSync),
    receiverSync: distribution(out.receiverSync),
    syncEndToSeen: distribution(out.syncEndToSeen),
  };
}

/** `count` one-file pushes, each synced by `sync_phases.ts` alone, its phases timed apart. */
async function syncPhases(
  context: BenchContext,
  push: () => Promise<string>,
  count: number,
): Promise<FanoutResult["phases"]> {
  const child = await BenchChild.start("sync_phases.ts", [`${context.work}/fanout-phases`], {
    env: {
      GIT_URL: context.git.repoUrl("fanout"),
      GIT_USER_NAME: context.git.user,
      GIT_PERSONAL_TOKEN: context.git.token,
    },
    timeoutMs: 120_000,
  });
  try {
    const runs: Record<string, number>[] = [];
    for (let i = 0; i < count; i++) {
      const sha = await push();
      const run = await child.command("sync");
      if (run.revision !== sha) throw new Error(`sync_phases synced ${run.revision}, not ${sha}`);
      runs.push(run as Record<string, number>);
    }
    const of = (key: string) => distribution(runs.map((r) => r[key]));
    return {
      headMs: of("headMs"),
      fetchMs: of("fetchMs"),
      buildMs: of("buildMs"),
      rememberMs: of("rememberMs"),
      totalMs: of("totalMs"),
      pruneMs: of("pruneMs"),
      packs: runs.at(-1)?.packs ?? 0,
    };
  } finally {
    await child.stop();
  }
}

/** Creates `name` on the simulator, as the router's namespace exists in a cluster. */
async function createNamespace(context: BenchContext, name: string): Promise<void> {
  const { url, token, caFile } = context.sim.ready;
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(String(caFile))] });
  try {
    const response = await fetch(`${url}/api/v1/namespaces`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } }),
      client,
    });
    const text = await response.text();
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`creating namespace ${name}: ${response.status} ${text}`);
    }
  } finally {
    client.close();
  }
}

function loadAverage(): string {
  return Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
}
