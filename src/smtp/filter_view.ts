// What the filters see of a session (a live view over its facts and transaction), and
// the link-connect report, which waits for the client's reverse DNS name (smtpd-filters(7)
// REPORT EVENTS).

import { isIP } from "node:net";
import type { FilterSessionView } from "../filters/mod.ts";
import { report } from "./filtering.ts";
import type { Session } from "./session.ts";

/** A view whose fields always read the session's current state. */
export function filterView(s: Session): FilterSessionView {
  return {
    get id() {
      return s.id;
    },
    get src() {
      return s.facts.src;
    },
    get rdns() {
      return s.facts.rdns;
    },
    get fcrdns() {
      return s.fcrdns;
    },
    get helo() {
      return s.facts.helo;
    },
    get authUser() {
      return s.facts.authUser;
    },
    get mailFrom() {
      return (s.transaction ?? s.committing)?.sender;
    },
    get rcptTo() {
      return (s.transaction ?? s.committing)?.recipients ?? [];
    },
  };
}

/** Resolves rdns and fcrdns, then reports link-connect: `rdns|fcrdns|src|dest`. */
export async function reportConnect(s: Session): Promise<void> {
  await s.rdnsLookup;
  const name = s.facts.rdns;
  report(s, "link-connect", () => {
    if (s.facts.src === "local") return [name ?? "", s.fcrdns ? "pass" : "fail", "unix:", "unix:"];
    const socket = s.socket;
    return [
      name ?? "",
      s.fcrdns ? "pass" : "fail",
      endpoint(s.facts.src, s.peer?.port ?? socket.remotePort),
      endpoint(
        s.peer?.localAddress ?? socket.localAddress ?? "",
        s.peer?.localPort ?? socket.localPort,
      ),
    ];
  });
}

// `address:port`, with IPv6 addresses bracketed.
function endpoint(address: string, port: number | undefined): string {
  const shown = isIP(address) === 6 ? `[${address}]` : address.replace(/^::ffff:/, "");
  return `${shown}:${port ?? 0}`;
}
