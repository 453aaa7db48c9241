// The scheduler: delivers envelopes as soon as they are committed, retries temporary
// failures on OpenSMTPD's schedule, expires and reports what cannot be delivered, and
// after a restart picks up whatever is still queued. It also notices mail written into
// the file by other processes (`sendmail` while the daemon runs). A queue that cannot be
// written (full disk, I/O error) pauses it, never stops it. The message content it holds
// in memory, waiting or being delivered, is bounded in bytes (held_content.ts), and a
// large message waiting for room never holds up small ones behind it.

import { errorMessage } from "../mail/mod.ts";
import {
  type AttemptResult,
  createDeliveryLoop,
  type DeliveryLoopOptions,
  type ReadyEnvelope,
} from "./attempt.ts";
import { backoffMs } from "./backoff.ts";
import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import {
  HeldContent,
  LARGE_MESSAGE_BYTES,
  READY_CONTENT_BYTES,
  RUNNING_CONTENT_BYTES,
} from "./held_content.ts";
import { isBusy } from "./sqlite_errors.ts";

export type { DeliverFunction, DeliveryOutcome } from "./attempt.ts";

/** Options of {@link startScheduler}. */
export interface SchedulerOptions extends Omit<DeliveryLoopOptions, "clock"> {
  readonly clock?: Clock;
  /** Deliveries in flight at once (default 64). */
  readonly concurrency?: number;
  /** How often the file is looked at for other processes' mail, ms (default 1000). */
  readonly pollMs?: number;
  /** Content committed messages keep on their waiting envelopes, bytes (default 16 MiB). */
  readonly readyContentBytes?: number;
  /**
   * Content of large messages the running attempts may hold, bytes (default 32 MiB); one
   * large attempt always runs.
   */
  readonly runningContentBytes?: number;
  /** From what size a message is large, bytes (default 1 MiB). */
  readonly largeMessageBytes?: number;
}

/** A running scheduler. */
export interface Scheduler {
  /** Stops starting deliveries and waits for those in flight and the reports gathered. */
  stop(): Promise<void>;
  /** Deliveries in flight now. */
  readonly inFlight: number;
  /** Bytes of message content held now: kept on waiting envelopes, and by running attempts. */
  readonly heldContent: { readonly ready: number; readonly running: number };
}

// A waiting envelope, with the size of its message, known without its content.
interface WaitingEnvelope extends ReadyEnvelope {
  readonly size: number;
}

const REFILL_BATCH = 1024;
const STALE_LEASE_CHECK_MS = 60_000;
const BUSY_PAUSE_MS = 200;
/** How many deliveries past the limit the rest of one message's recipients may start. */
const MESSAGE_RUN = 16;

/** Starts delivering. */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const { queue, log } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const concurrency = options.concurrency ?? 64;
  // Messages counted once however many of their envelopes share their content: those kept
  // on waiting envelopes, and those the running attempts hold (one read from the queue
  // serves all of a message's attempts that run at once).
  const waitingContent = new HeldContent(options.readyContentBytes ?? READY_CONTENT_BYTES);
  const runningContent = new HeldContent(Infinity);
  // Of those, the large messages: they alone count against the bound of running content.
  const runningLarge = new HeldContent(options.runningContentBytes ?? RUNNING_CONTENT_BYTES);
  const largeBytes = options.largeMessageBytes ?? LARGE_MESSAGE_BYTES;
  const { reporter, attempt } = createDeliveryLoop({
    ...options,
    clock,
    retryReports: true,
    readContent: (msgid) => runningContent.shared(msgid, () => queue.content(msgid)),
  });
  const ready: WaitingEnvelope[] = [];
  // Large envelopes waiting, in their turn, for the running large ones to leave room.
  const largeWaiting: WaitingEnvelope[] = [];
  const known = new Set<string>(); // evpids ready, in flight, or with a result to write
  // Claimed again while their last attempt was still ending: they go once it has.
  const claimedAgain = new Map<string, WaitingEnvelope>();
  const running = new Set<Promise<void>>();
  const recordTimers = new Set<number>();
  const startedAt = clock.now();
  let stopped = false;
  let queueMayHaveDue = true; // at start-up, everything queued is due
  let timer: { handle: number; at: number } | undefined;
  // Writes to the file that failed in a row, and until when claims pause.
  let faults = 0;
  let pausedUntil = 0;
  // Start-up work, done before the first claim, and again until it succeeds.
  let ownLeasesFreed = false;
  // Settled envelopes whose reports are still to be queued may be free to claim: at
  // start-up, and once leases were freed or may have ended.
  let reportsMayBeDue = true;
  // Lease holders whose liveness could not be told, said once each.
  const undecidedSaid = new Set<string>();

  // A committed message is delivered from memory while the content kept that way fits its
  // bound; past it, its envelopes wait without it and their attempt reads it back.
  queue.onCommit((envelopes, content, info) => {
    if (stopped) return;
    const size = content.byteLength;
    for (const envelope of envelopes) {
      known.add(envelope.evpid);
      const item = waitingContent.fits(envelope.msgid, size)
        ? { envelope, size, content, recovered: false }
        : { envelope, size, recovered: false };
      if (item.content) waitingContent.hold(envelope.msgid, size);
      ready.push(info ? { ...item, info } : item);
    }
    pump();
  });

  // `smtpctl schedule` and `resume` through this process: what they made due goes now.
  queue.onDue(() => {
    if (stopped) return;
    queueMayHaveDue = true;
    pump();
  });

  // Mail committed by another process changes the file's data version.
  let dataVersion = readOrUndefined(() => queue.dataVersion());
  let lastStaleCheck = Date.now();
  const poll = setInterval(() => {
    if (stopped) return;
    const version = readOrUndefined(() => queue.dataVersion());
    const now = Date.now();
    if (now - lastStaleCheck >= STALE_LEASE_CHECK_MS) {
      lastStaleCheck = now;
      const released = guarded(
        "free the leases of gone processes",
        () => queue.releaseStaleLeases(),
      );
      if (released) log.info(`scheduler: took back ${released} envelope(s) from gone processes`);
      sayUndecided();
      // Freed leases, and those that ended meanwhile (their holder could not be told
      // gone): their envelopes are due, and so are their reports.
      queueMayHaveDue = true;
      reportsMayBeDue = true;
    }
    if (version !== dataVersion) {
      dataVersion = version;
      queueMayHaveDue = true;
    }
    if (queueMayHaveDue) pump();
  }, options.pollMs ?? 1000);

  // A write to the file (a claim, freeing leases) that fails — full disk, I/O error, a
  // file others keep busy — is logged and pauses claims, doubling the pause up to a
  // minute, until one succeeds: the daemon keeps serving, and recovers by itself.
  function guarded<T>(what: string, work: () => T): T | undefined {
    if (clock.now() < pausedUntil) return undefined;
    try {
      const value = work();
      if (faults > 0) log.info(`scheduler: the queue can be written again`);
      faults = 0;
      return value;
    } catch (error) {
      // A busy file (another process writing) is waited for briefly, without a log line.
      if (isBusy(error)) {
        pausedUntil = clock.now() + BUSY_PAUSE_MS;
        wakeAt(pausedUntil);
        return undefined;
      }
      faults++;
      const delay = backoffMs(faults);
      pausedUntil = clock.now() + delay;
      log.warn(
        `scheduler: cannot ${what}: ${errorMessage(error)}; trying again in ${delay / 1000}s`,
      );
      wakeAt(pausedUntil);
      return undefined;
    }
  }

  // Leases of this process's earlier life, or of a flush that died, are freed; the
  // reports a crash left unqueued are queued.
  function startUp(): boolean {
    ownLeasesFreed ||= guarded("take back leases", () => {
      const released = queue.releaseStaleLeases({ own: true });
      if (released > 0) {
        log.info(`scheduler: took back ${released} envelope(s) from gone processes`);
      }
      sayUndecided();
      return true;
    }) ?? false;
    if (!ownLeasesFreed) return false;
    if (reportsMayBeDue) {
      reportsMayBeDue = !(guarded("claim reports", () => {
        for (const envelope of queue.claimReports(100_000)) {
          if (envelope.state === "failed") reporter.failed(envelope);
          else if (envelope.lastError === "relayed") reporter.relayed(envelope);
          else reporter.delivered(envelope);
        }
        return true;
      }) ?? false);
    }
    return !reportsMayBeDue;
  }

  // Where /proc cannot be read (the SMTP front), a holder that is gone cannot be told
  // from one that runs: its envelopes wait for its leases to end.
  function sayUndecided(): void {
    for (const owner of queue.undecidedLeaseHolders) {
      if (undecidedSaid.has(owner)) continue;
      undecidedSaid.add(owner);
      log.warn(
        `scheduler: cannot tell whether ${owner}, which holds envelopes, still runs: they wait for the end of its leases`,
      );
    }
  }

  // Loads due envelopes from the file: at start-up and when a retry comes due.
  function refill(): void {
    if (!queueMayHaveDue || !startUp()) return;
    const rows = guarded("claim due envelopes", () => queue.claimDue(clock.now(), REFILL_BATCH));
    if (rows === undefined) return;
    queueMayHaveDue = rows.length === REFILL_BATCH;
    for (const envelope of rows) {
      // Committed before this process started, or taken back from a process that is
      // gone: it may have been delivered just before a crash (or a full disk kept the
      // result from being written), so the delivery agent checks before writing it again.
      const recovered = queue.takenBack(envelope.evpid) || envelope.createdAt < startedAt;
      const item = { envelope, size: envelope.size, recovered };
      // Its last result is written (the claim found it free) but its attempt has not yet
      // ended: it waits for that, rather than stay leased and untried.
      if (known.has(envelope.evpid)) {
        claimedAgain.set(envelope.evpid, item);
        continue;
      }
      known.add(envelope.evpid);
      ready.push(item);
    }
  }

  function pump(): void {
    if (stopped) return;
    // Large envelopes set aside do not keep the rest of the due ones in the file, up to a
    // batch of them.
    if (ready.length === 0 && largeWaiting.length < REFILL_BATCH) refill();
    // A large envelope waiting for room goes first once there is room: it is not starved
    // by those behind it.
    while (largeWaiting.length > 0 && running.size < concurrency) {
      const item = largeWaiting[0]!;
      if (runningLarge.bytes > 0 && !runningLarge.fits(item.envelope.msgid, item.size)) break;
      largeWaiting.shift();
      start(item);
    }
    // The rest of a message's recipients start with its first (up to MESSAGE_RUN past the
    // limit): started together, a user's mailbox writes go as one request. A large one
    // whose content would take the running large ones past their bound (unless none
    // runs: a message of any size is delivered), or that comes after one waiting so,
    // waits aside, in its turn; the small ones behind it go on.
    let message: string | undefined;
    while (ready.length > 0) {
      const item = ready[0]!;
      const next = item.envelope.msgid;
      const room = running.size < concurrency ||
        (next === message && running.size < concurrency + MESSAGE_RUN);
      if (!room) break;
      ready.shift();
      if (
        item.size > largeBytes &&
        (largeWaiting.length > 0 ||
          (runningLarge.bytes > 0 && !runningLarge.fits(next, item.size)))
      ) {
        largeWaiting.push(item);
        continue;
      }
      message = next;
      start(item);
    }
    if (
      ready.length === 0 && largeWaiting.length === 0 && running.size === 0 &&
      clock.now() >= pausedUntil
    ) {
      const next = readOrUndefined(() => queue.nextTry());
      if (next !== undefined) wakeAt(next);
    }
  }

  // Starts an envelope's attempt, holding its message's content while it runs.
  function start(item: WaitingEnvelope): void {
    const msgid = item.envelope.msgid;
    if (item.content) waitingContent.release(msgid);
    runningContent.hold(msgid, item.size, item.content);
    if (item.size > largeBytes) runningLarge.hold(msgid, item.size);
    launch(item, () => attemptHolding(item), 0);
  }

  // An attempt, whose content is given back once it ends.
  async function attemptHolding(item: WaitingEnvelope): Promise<AttemptResult> {
    try {
      return await attempt(item);
    } finally {
      runningContent.release(item.envelope.msgid);
      if (item.size > largeBytes) runningLarge.release(item.envelope.msgid);
    }
  }

  // Runs an attempt, or the write of a result that could not be written before; such a
  // result is written again after a pause, without delivering again.
  function launch(item: ReadyEnvelope, work: () => Promise<AttemptResult>, failures: number) {
    const task = work().then((result) => {
      if (result.retryAt !== undefined) wakeAt(result.retryAt);
      if (result.recordAgain && !stopped) return holdResult(item, result.recordAgain, failures + 1);
      ended(item.envelope.evpid);
    }, () => ended(item.envelope.evpid)).finally(() => {
      running.delete(task);
      pump();
    });
    running.add(task);
  }

  // An envelope's attempt and the write of its result are over.
  function ended(evpid: string): void {
    const again = claimedAgain.get(evpid);
    if (again === undefined) {
      known.delete(evpid);
      return;
    }
    claimedAgain.delete(evpid);
    ready.push(again);
  }

  function holdResult(item: ReadyEnvelope, write: () => Promise<AttemptResult>, failures: number) {
    const handle = clock.setTimer(backoffMs(failures), () => {
      recordTimers.delete(handle);
      if (!stopped) launch(item, write, failures);
    });
    recordTimers.add(handle);
  }

  // Arms the timer for the earliest moment something becomes due.
  function wakeAt(at: number): void {
    if (stopped || (timer && timer.at <= at)) return;
    if (timer) clock.clearTimer(timer.handle);
    const handle = clock.setTimer(Math.max(0, at - clock.now()), () => {
      timer = undefined;
      queueMayHaveDue = true;
      pump();
    });
    timer = { handle, at };
  }

  pump();

  return {
    get inFlight() {
      return running.size;
    },
    get heldContent() {
      return { ready: waitingContent.bytes, running: runningContent.bytes };
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      if (timer) clock.clearTimer(timer.handle);
      timer = undefined;
      // Results still unwritten stay with their leased envelopes: the next start takes
      // them back and delivers them again (a Maildir delivery first looks for its file).
      for (const handle of recordTimers) clock.clearTimer(handle);
      recordTimers.clear();
      while (running.size > 0) await Promise.all([...running]);
      await reporter.close();
    },
  };
}

// Reads fail only on I/O errors; the next poll reads again.
function readOrUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}
