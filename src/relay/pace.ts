// The pace of each destination (`mta rate`): at most N mails, and N new connections, in any
// window of time. What cannot go now gets a slot of its own in the future, each slot spaced
// from the one before, so held-back mail comes back spread out, not in a burst; and a
// receiver that answers "too fast" (421/451) halves the destination's pace for a while.

import type { Rate } from "../config/mod.ts";

/** How long a "too fast" reply slows its destination down. */
export const SLOW_DOWN_MS = 10 * 60_000;
/** Each further "too fast" reply halves the pace again, down to 1/2^this. */
const MAX_SLOW_LEVEL = 6;
/** The window a destination without a rate is paced in once it is slowed down. */
const OBSERVED_WINDOW_MS = 60_000;
/** The most send times kept for a destination without a rate of its own. */
const MAX_OBSERVED = 10_000;

/**
 * A reply that asks the sender to go slower: a 421 or 451 (RFC 5321 §4.2.2) whose text says
 * so, as the large receivers word it; after a "greeting: " or "EHLO: " prefix too.
 */
export const TOO_FAST_REGEXP =
  /(^|[\s:])(421|451)[\s-].*(too (fast|many|much|quickly|frequent)|\brate\b|rate.limit|throttl|slow.?down|try (again )?later|unexpected volume|temporarily deferred|busy)/is;

/** Admission: go now, or not before `at` (Unix ms). */
export type Admission = { readonly go: true } | { readonly go: false; readonly at: number };

interface Track {
  /** Slot times given (sent or reserved), in order; the last `count` matter. */
  times: number[];
  /** Slots reserved for mail held back, by ticket. */
  readonly reserved: Map<string, number>;
}

interface Slowdown {
  level: number;
  until: number;
  /** The pace imposed where none is configured. */
  readonly observed?: Rate;
}

/** The paces of every destination, on one clock. */
export class DestinationPace {
  readonly #now: () => number;
  readonly #tracks = new Map<string, Track>();
  readonly #slow = new Map<string, Slowdown>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * May a mail (or a new connection) to `destination` go now under `rate`? `ticket` names
   * what is asking (the same message and destination ask again with the same one): a
   * ticket held back before goes when its slot has come.
   */
  admit(
    kind: "mail" | "connection",
    destination: string,
    rate: Rate | undefined,
    ticket: string,
  ): Admission {
    const now = this.#now();
    const effective = this.#effective(kind, destination, rate, now);
    const key = `${kind} ${destination}`;
    if (!effective) {
      // Without a rate, mail sends are still noted: a slow-down has a pace to start from.
      if (kind === "mail") this.#observe(key, now);
      return { go: true };
    }
    const track = this.#track(key);
    const reserved = track.reserved.get(ticket);
    if (reserved !== undefined) {
      if (reserved > now) return { go: false, at: reserved };
      track.reserved.delete(ticket);
      return { go: true };
    }
    const windowMs = effective.seconds * 1000;
    const { times } = track;
    const last = times.at(-1) ?? -Infinity;
    const nth = times.length >= effective.count
      ? times[times.length - effective.count]!
      : -Infinity;
    let at = Math.max(now, last, nth + windowMs);
    // Held back: spaced from the slot before by an even share of the window.
    if (at > now) at = Math.max(at, last + windowMs / effective.count);
    times.push(at);
    if (times.length > effective.count * 2) times.splice(0, times.length - effective.count);
    this.#forget(track, now, windowMs);
    if (at <= now) return { go: true };
    track.reserved.set(ticket, at);
    return { go: false, at };
  }

  /** A "too fast" reply from `destination`: its pace halves for {@link SLOW_DOWN_MS}. */
  slowDown(destination: string, rate: Rate | undefined): Rate {
    const now = this.#now();
    const current = this.#slow.get(destination);
    const active = current && current.until > now ? current : undefined;
    const observed = active?.observed ??
      (rate ? undefined : this.#observedRate(`mail ${destination}`, now));
    const slowdown: Slowdown = {
      level: Math.min(MAX_SLOW_LEVEL, (active?.level ?? 0) + 1),
      until: now + SLOW_DOWN_MS,
      ...(observed ? { observed } : {}),
    };
    this.#slow.set(destination, slowdown);
    this.#retract(destination, now);
    return this.#effective("mail", destination, rate, now)!;
  }

  /** The pace a destination's mail goes at now (undefined: unlimited). */
  mailRate(destination: string, rate: Rate | undefined): Rate | undefined {
    return this.#effective("mail", destination, rate, this.#now());
  }

  #effective(
    kind: "mail" | "connection",
    destination: string,
    rate: Rate | undefined,
    now: number,
  ): Rate | undefined {
    const slow = this.#slow.get(destination);
    if (slow && slow.until <= now) {
      this.#slow.delete(destination);
      this.#retract(destination, now);
    }
    const active = slow && slow.until > now ? slow : undefined;
    const base = rate ?? (kind === "mail" ? active?.observed : undefined);
    if (!base) return undefined;
    if (!active) return base;
    return {
      count: Math.max(1, Math.floor(base.count / 2 ** active.level)),
      seconds: base.seconds,
    };
  }

  // Slots promised at the old pace are taken back: held mail asks again at the new one.
  #retract(destination: string, now: number): void {
    const track = this.#tracks.get(`mail ${destination}`);
    if (!track) return;
    track.times = track.times.filter((t) => t <= now);
    track.reserved.clear();
  }

  #observedRate(key: string, now: number): Rate {
    const times = this.#tracks.get(key)?.times ?? [];
    const recent = times.filter((t) => t > now - OBSERVED_WINDOW_MS).length;
    // The level halves it once more: start from twice what was sent, at least one a minute.
    return { count: Math.max(2, recent), seconds: OBSERVED_WINDOW_MS / 1000 };
  }

  #observe(key: string, now: number): void {
    const track = this.#track(key);
    track.times.push(now);
    if (track.times.length > MAX_OBSERVED) track.times.splice(0, track.times.length - MAX_OBSERVED);
    while (track.times.length > 0 && track.times[0]! <= now - OBSERVED_WINDOW_MS) {
      track.times.shift();
    }
  }

  #track(key: string): Track {
    let track = this.#tracks.get(key);
    if (!track) this.#tracks.set(key, track = { times: [], reserved: new Map() });
    return track;
  }

  // A reservation whose mail never came back (removed, expired) is dropped after a while.
  #forget(track: Track, now: number, windowMs: number): void {
    if (track.reserved.size < 1024) return;
    for (const [ticket, at] of track.reserved) {
      if (at < now - 2 * windowMs) track.reserved.delete(ticket);
    }
  }
}
