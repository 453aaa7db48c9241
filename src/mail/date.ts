// The RFC 5322 date every header and report carries, always in UTC.

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * An RFC 5322 §3.3 date-time in UTC for a time in milliseconds since the epoch.
 *
 * @example
 * ```ts
 * import { rfc5322Date } from "./date.ts";
 * rfc5322Date(Date.UTC(2026, 10, 25, 5, 38, 26)); // "Wed, 25 Nov 2026 05:38:26 +0000"
 * ```
 */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${
    MONTHS[d.getUTCMonth()]
  } ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${
    pad(d.getUTCSeconds())
  } +0000`;
}
