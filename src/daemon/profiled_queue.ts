// `smtpctl profile queue`: every call into the queue timed while the switch is on (logged
// as `profile-queue: STEP SECONDS` and counted in show stats), at the cost of one check
// while it is off.

import { profile } from "../log/mod.ts";
import type { Queue } from "../queue/mod.ts";

/** The queue, its methods timed under `profile queue`. */
export function profiledQueue(queue: Queue): Queue {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(queue, {
    get(target, key) {
      // The target's own `this`: its private fields are not the proxy's.
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      let method = wrapped.get(key);
      if (!method) {
        const step = String(key);
        method = (...args: unknown[]) =>
          profile("queue", step, () => (value as (...a: unknown[]) => unknown).apply(target, args));
        wrapped.set(key, method);
      }
      return method;
    },
  });
}
