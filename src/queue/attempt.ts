// One delivery attempt and the transition it causes: delivered, deferred (with a delay
// warning when one is due), failed (reported to the sender) or expired. Shared by the
// daemon's scheduler and by `queue flush`, so both follow exactly the same rules.

import { durationText, type FieldValue, logEvent, type Logger, quoted } from "../log/mod.ts";
import {
  type DeliveryFailure,
  type DeliveryResult,
  errorMessage,
  permfail,
  randomHex,
  tempfail,
} from "../mail/mod.ts";
import type { Clock } from "./clock.ts";
import type { NewEnvelope, QueuedEnvelope } from "./envelope.ts";
import { createReporter, type Reporter, type ReportRoute } from "./reporter.ts";
import { DEFAULT_RETRY_BASE, type DeliveryAgent, nextRetry } from "./retry_schedule.ts";
import type { Queue } from "./sqlite_store.ts";
import type { MessageInfo } from "./sqlite_reads.ts";

/**
 * How one delivery attempt ended: a backend's {@link DeliveryResult}, or the recipient
 * expanded (aliases, virtual, .forward) into these envelopes instead.
 */
export type DeliveryOutcome =
  | DeliveryResult
  | { readonly kind: "expand"; readonly children: readonly NewEnvelope[] };

/** Delivers one envelope. `recovered` is true for envelopes that may have been delivered already. */
export type DeliverFunction = (
  envelope: QueuedEnvelope,
  content: Uint8Array,
  context: {
    readonly recovered: boolean;
    /** The message's DSN RET and ENVID (RFC 3461 §4.3, §4.4), for a relay to pass on. */
    readonly dsnRet?: "FULL" | "HDRS";
    readonly dsnEnvid?: string;
  },
) => Promise<DeliveryOutcome>;

/** What became of an envelope after an attempt. */
export type Transition =
  | "delivered"
  | "expanded"
  | "deferred"
  | "failed"
  | "expired"
  | "unrecorded";

/** Options shared by the scheduler and the one-pass flush. */
export interface AttemptOptions {
  readonly queue: Queue;
  readonly deliver: DeliverFunction;
  readonly log: Logger;
  readonly clock: Clock;
  readonly reporter: Reporter;
  /**
   * `queue retry`: the base of an agent's schedule in seconds, tries at arrival + base × n²
   * (undefined: OpenSMTPD's 400 s for relayed mail, 10 s for the rest).
   */
  readonly retryBase?: (agent: DeliveryAgent) => number | undefined;
  /** `bounce warn-interval`, seconds after arrival (default one warning at 4 hours). */
  readonly warnIntervals?: readonly number[];
  /** Which agent delivers an envelope, for its log line and retries: `mda` (default) or `mta`. */
  readonly agentOf?: (envelope: QueuedEnvelope) => DeliveryAgent;
  /** Reads the content of an envelope handed over without it (default: from the queue). */
  readonly readContent?: (msgid: string) => Promise<Uint8Array | undefined>;
}

/** An envelope ready to be tried. */
export interface ReadyEnvelope {
  readonly envelope: QueuedEnvelope;
  readonly content?: Uint8Array;
  readonly recovered: boolean;
  /** The message's DSN settings, when the commit handed them over (else read from the queue). */
  readonly info?: MessageInfo;
}

/** How an attempt ended. */
export interface AttemptResult {
  readonly transition: Transition;
  /** When a deferred envelope is due again. */
  readonly retryAt?: number;
  /** For an unrecorded result: writes it again (the delivery is not repeated). */
  readonly recordAgain?: () => Promise<AttemptResult>;
}

/** Builds the attempt function; it never throws. */
export function createAttempt(
  options: AttemptOptions,
): (item: ReadyEnvelope) => Promise<AttemptResult> {
  const { queue, deliver, log, clock, reporter } = options;
  const readContent = options.readContent ?? ((msgid: string) => queue.content(msgid));
  const baseMs = (agent: DeliveryAgent) =>
    (options.retryBase?.(agent) ?? DEFAULT_RETRY_BASE[agent]) * 1000;
  const warnIntervals = [...(options.warnIntervals ?? [4 * 3600])].sort((a, b) => a - b);
  const agentOf = (envelope: QueuedEnvelope) => options.agentOf?.(envelope) ?? "mda";
  // smtpd.conf(5): a warning goes "when a message has been in the queue for the given
  // delay", so each interval is a moment of its own (OpenSMTPD's scheduler schedules the
  // delayed bounce at creation + interval when the next try falls past it).
  const warnTimes = (envelope: QueuedEnvelope) =>
    warnIntervals.map((s) => envelope.createdAt + s * 1000);
  const warningsPassed = (envelope: QueuedEnvelope, at: number) =>
    warnTimes(envelope).filter((t) => t <= at).length;
  const nextWarning = (envelope: QueuedEnvelope, after: number) =>
    warnTimes(envelope).find((t) => t > after && t < envelope.expiresAt);
  // The try the retry schedule holds after the last failed one, before expiry.
  const scheduledTry = (envelope: QueuedEnvelope) =>
    Math.min(
      nextRetry({
        createdAt: envelope.createdAt,
        retries: envelope.attempts,
        baseMs: baseMs(agentOf(envelope)),
        now: envelope.lastTry ?? envelope.createdAt,
      }),
      envelope.expiresAt,
    );

  return async (item) => {
    const { envelope } = item;
    const started = clock.now();
    // Woken at a warning's moment before its next try: the warning goes, no delivery is
    // tried, and the envelope waits for its try (or the next warning).
    if (
      envelope.attempts > 0 && warningsPassed(envelope, started) > envelope.warned &&
      scheduledTry(envelope) > started
    ) {
      return await sendWarning(envelope, started);
    }
    let outcome: DeliveryOutcome;
    let content = item.content;
    // An envelope due at its expiry (or found after it) is still tried: that is its last
    // try, and only a temporary failure of it expires the envelope.
    try {
      content ??= await readContent(envelope.msgid);
      outcome = content
        ? await tryDelivery(item, content)
        : permfail("message content missing from the queue");
    } catch (error) {
      outcome = tempfail(errorMessage(error));
    }
    // A backend that held the envelope back (a rate limit) names its moment, and it is no
    // attempt: what the envelope last failed with is still its last try's error (the
    // hold's own reason only when nothing was tried yet).
    const held = outcome.kind === "tempfail" && outcome.notBefore !== undefined;
    const heldBecause = held && outcome.kind === "tempfail" ? outcome.reason : undefined;
    if (held && outcome.kind === "tempfail") {
      outcome = { ...outcome, reason: envelope.lastError ?? outcome.reason };
    }
    let expired = false;
    // Past its expiry it expires, held back or not, as OpenSMTPD expires an envelope when
    // its time is up: a pace slot later on would keep it past its ttl, more so the longer
    // the destination's backlog.
    if (outcome.kind === "tempfail" && clock.now() >= envelope.expiresAt) {
      expired = true;
      outcome = expiryOf(envelope, outcome);
    }
    // What the report says of the last attempt (RFC 3464 §2.3.7 Last-Attempt-Date).
    const tried: QueuedEnvelope = held ? envelope : { ...envelope, lastTry: started };
    const delay = ((clock.now() - started) / 1000).toFixed(2);
    const what = `${envelope.evpid}: from=<${envelope.sender}> to=<${envelope.rcpt}> user=${
      envelope.user ?? "-"
    } action=${envelope.action} delay=${delay}s`;
    // OpenSMTPD's mda_log / mta_log line; the delay counts from the message's arrival.
    const delivery = (result: string, stat: string) => {
      const hop = outcome.kind === "expand" ? undefined : outcome.hop;
      const agent = options.agentOf?.(envelope) ?? "mda";
      const dest = envelope.dest ?? envelope.rcpt;
      const head: Record<string, FieldValue> = {
        evpid: envelope.evpid,
        from: `<${envelope.sender}>`,
        to: `<${dest}>`,
        rcpt: `<${envelope.rcpt}>`,
      };
      const delay = durationText((clock.now() - envelope.createdAt) / 1000);
      const fields: Record<string, FieldValue> = agent === "mta"
        ? {
          ...head,
          source: quoted(hop?.source ?? "-"),
          relay: quoted(hop?.relay ?? "-"),
          delay,
          result: quoted(result),
          // OpenSMTPD's stat of a relayed success is the reply that took it.
          stat: quoted(result === "Ok" ? hop?.reply ?? stat : stat),
        }
        : { ...head, user: envelope.user ?? "-", delay, result, stat };
      logEvent(log, { id: randomHex(8), subsystem: agent, event: "delivery", fields });
    };
    const write = recordingOf(outcome);
    // A result that cannot be written (full disk, I/O error) is kept with its envelope,
    // which stays leased; the caller writes it again later without delivering again.
    const record = async (): Promise<AttemptResult> => {
      try {
        return await write();
      } catch (error) {
        log.warn(`delivery: cannot record result for ${envelope.evpid}: ${errorMessage(error)}`);
        return { transition: "unrecorded", recordAgain: record };
      }
    };
    return await record();

    // Logs the outcome once, and returns the write that records it.
    function recordingOf(outcome: DeliveryOutcome): () => Promise<AttemptResult> {
      switch (outcome.kind) {
        case "ok": {
          delivery("Ok", "Delivered");
          // Passed on with NOTIFY to a server that does DSN: success is its to report.
          const report = envelope.sender !== "" &&
            envelope.dsnNotify?.includes("SUCCESS") === true && outcome.dsn !== "passed";
          return async () => {
            await queue.markDelivered(envelope, report, { relayed: outcome.dsn === "relayed" });
            if (report && outcome.dsn === "relayed") {
              reporter.relayed({ ...envelope, lastError: "relayed" });
            } else if (report) reporter.delivered({ ...envelope, lastError: "delivered" });
            return { transition: "delivered" };
          };
        }
        case "expand":
          return async () => {
            const children = await queue.replaceByExpansion(envelope, outcome.children, content!);
            log.info(
              `delivery: Expand for ${what}: ${children.length} envelope(s): ` +
                children.map((c) => c.target ?? c.rcpt).join(", "),
            );
            return { transition: "expanded" };
          };
        case "tempfail": {
          const now = clock.now();
          // A failure follows the agent's schedule from the arrival.
          const due = held ? Math.max(now, outcome.notBefore!) : nextRetry({
            createdAt: envelope.createdAt,
            retries: envelope.attempts + 1,
            baseMs: baseMs(agentOf(envelope)),
            now,
          });
          // The last try is at the moment of expiry, so the envelope expires on time.
          const next = Math.min(
            Math.min(due, envelope.expiresAt),
            // A warning due before then wakes the envelope for itself.
            nextWarning(envelope, now) ?? Infinity,
          );
          const passed = warningsPassed(envelope, now);
          // The log says what happened now: the hold, when it was one.
          delivery("TempFail", heldBecause ?? outcome.reason);
          return async () => {
            await queue.markDeferred(
              envelope,
              next,
              outcome.reason,
              Math.max(passed, envelope.warned),
              { attempted: !held },
            );
            if (passed > envelope.warned) {
              reporter.delayed({ ...tried, lastError: outcome.reason });
            }
            return { transition: "deferred", retryAt: next };
          };
        }
        case "permfail":
          delivery("PermFail", expired ? `Expired: ${outcome.reason}` : outcome.reason);
          return async () => {
            await queue.markFailed(envelope, outcome.reason);
            reporter.failed({ ...tried, lastError: outcome.reason });
            return { transition: expired ? "expired" : "failed" };
          };
      }
    }
  };

  // A delay warning on its own: it tells of the last failed attempt, and that attempt
  // still counts as the last (no try is made).
  async function sendWarning(envelope: QueuedEnvelope, now: number): Promise<AttemptResult> {
    const next = Math.min(scheduledTry(envelope), nextWarning(envelope, now) ?? Infinity);
    const reason = envelope.lastError ?? "";
    try {
      await queue.markDeferred(envelope, next, reason, warningsPassed(envelope, now), {
        attempted: false,
      });
    } catch (error) {
      // Not written: the envelope's lease runs out and the warning's moment comes again.
      log.warn(`bounce: cannot record delay warning for ${envelope.evpid}: ${errorMessage(error)}`);
      return { transition: "unrecorded", recordAgain: () => sendWarning(envelope, now) };
    }
    reporter.delayed({ ...envelope, lastError: reason });
    return { transition: "deferred", retryAt: next };
  }

  async function tryDelivery(item: ReadyEnvelope, content: Uint8Array): Promise<DeliveryOutcome> {
    try {
      const info = item.info ?? queue.messageInfo(item.envelope.msgid);
      return await deliver(item.envelope, content, {
        recovered: item.recovered,
        ...(info?.dsnRet === undefined ? {} : { dsnRet: info.dsnRet }),
        ...(info?.dsnEnvid === undefined ? {} : { dsnEnvid: info.dsnEnvid }),
      });
    } catch (error) {
      return tempfail(errorMessage(error));
    }
  }
}

// The failure an envelope ends with when its last try failed again, keeping the hop the
// try went to for the log.
function expiryOf(envelope: QueuedEnvelope, last: DeliveryFailure): DeliveryFailure {
  const reason = `4.4.7 Envelope expired after ${
    describeDuration(envelope.expiresAt - envelope.createdAt)
  } in the queue (last error: ${last.reason})`;
  return { kind: "permfail", reason, ...(last.hop === undefined ? {} : { hop: last.hop }) };
}

/** "4 days", "1 hour", "90 minutes": the largest unit that gives a whole number. */
export function describeDuration(ms: number): string {
  for (
    const [unit, size] of [["day", 86_400_000], ["hour", 3_600_000], ["minute", 60_000]] as const
  ) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? "" : "s"}`;
  }
  const seconds = Math.round(ms / 1000);
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** What the scheduler and the one-pass flush both start from. */
export interface DeliveryLoopOptions {
  readonly queue: Queue;
  readonly deliver: DeliverFunction;
  readonly log: Logger;
  readonly clock: Clock;
  /** `queue retry`: see {@link AttemptOptions}. */
  readonly retryBase?: (agent: DeliveryAgent) => number | undefined;
  readonly warnIntervals?: readonly number[];
  /** Which agent delivers an envelope (its log line, its retries): see {@link AttemptOptions}. */
  readonly agentOf?: (envelope: QueuedEnvelope) => DeliveryAgent;
  /** Where the content of an envelope handed over without it is read: see {@link AttemptOptions}. */
  readonly readContent?: (msgid: string) => Promise<Uint8Array | undefined>;
  /** This host's name, for reports (default "localhost"). */
  readonly hostname?: string;
  /** Routes a report to its recipient (default: reports are dropped with a log line). */
  readonly routeReport?: (
    rcpt: string,
  ) => ReportRoute | undefined | Promise<ReportRoute | undefined>;
  /** How long reports of one message are gathered, ms. */
  readonly reportBatchMs?: number;
  /** Reports that cannot be queued are tried again (a running daemon), backing off. */
  readonly retryReports?: boolean;
}

/** The reporter and the attempt function of a delivery loop. */
export function createDeliveryLoop(
  options: DeliveryLoopOptions,
): { reporter: Reporter; attempt: ReturnType<typeof createAttempt> } {
  const { queue, log, clock } = options;
  const reporter = createReporter({
    queue,
    clock,
    log,
    hostname: options.hostname ?? "localhost",
    route: options.routeReport ?? (() => undefined),
    ...(options.reportBatchMs === undefined ? {} : { batchMs: options.reportBatchMs }),
    ...(options.retryReports ? { retry: true } : {}),
  });
  const attempt = createAttempt({
    queue,
    deliver: options.deliver,
    log,
    clock,
    reporter,
    ...(options.retryBase === undefined ? {} : { retryBase: options.retryBase }),
    ...(options.warnIntervals === undefined ? {} : { warnIntervals: options.warnIntervals }),
    ...(options.agentOf === undefined ? {} : { agentOf: options.agentOf }),
    ...(options.readContent === undefined ? {} : { readContent: options.readContent }),
  });
  return { reporter, attempt };
}
