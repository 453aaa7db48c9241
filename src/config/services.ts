// Port names of `listen on … port NAME`: the system's services(5) database, as parse.y's
// getservbyname(NAME, "tcp") reads it, with a built-in table when the file cannot be read.

import { WELL_KNOWN_PORTS } from "./defaults.ts";

/** Where the system keeps its services. */
export const SERVICES_PATH = "/etc/services";

/**
 * The mail ports by every name Debian's and OpenBSD's services(5) give them: what a port
 * name means when the system's database cannot be read.
 */
export const FALLBACK_SERVICES: ReadonlyMap<string, number> = new Map([
  ["smtp", WELL_KNOWN_PORTS.smtp],
  ["mail", WELL_KNOWN_PORTS.smtp],
  ["submission", WELL_KNOWN_PORTS.submission],
  ["submissions", WELL_KNOWN_PORTS.smtps],
  ["smtps", WELL_KNOWN_PORTS.smtps],
  ["ssmtp", WELL_KNOWN_PORTS.smtps],
  ["urd", WELL_KNOWN_PORTS.smtps],
  ["lmtp", 24],
]);

/**
 * The TCP services of services(5) text, names and aliases alike (`submissions 465/tcp
 * ssmtp smtps`); the first line naming a service wins, as getservbyname(3) reads.
 *
 * @example
 * ```ts
 * import { parseServices } from "./services.ts";
 * parseServices("submissions\t465/tcp\t\tssmtp smtps # RFC 8314\n").get("ssmtp"); // 465
 * ```
 */
export function parseServices(text: string): Map<string, number> {
  const services = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d{1,5})\/tcp$/.exec(portProto ?? "");
    if (!name || !m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    for (const n of [name, ...aliases]) if (!services.has(n)) services.set(n, port);
  }
  return services;
}

/**
 * The system's TCP services, or {@link FALLBACK_SERVICES} when the database cannot be read
 * (absent, or not readable with the permissions the process has).
 */
export function readSystemServices(path = SERVICES_PATH): ReadonlyMap<string, number> {
  try {
    const services = parseServices(Deno.readTextFileSync(path));
    return services.size > 0 ? services : FALLBACK_SERVICES;
  } catch {
    return FALLBACK_SERVICES;
  }
}
