// What the rules know of a session from its first moment: the client's address (the one a
// PROXY header names, when there is one), whether it is local, and the listener's tag.

import type { Socket } from "node:net";
import { unmapIpv4 } from "../mail/mod.ts";
import type { ProxiedPeer } from "./proxy_v2.ts";
import type { SessionFactsInProgress } from "./session.ts";
import type { SessionContext } from "./session_context.ts";

/** The facts of a session as it opens; `src` is "local" for a unix-socket client. */
export function openingFacts(
  socket: Socket,
  ctx: SessionContext,
  peer: ProxiedPeer | undefined,
): SessionFactsInProgress {
  // A client of the proxy's own unix socket is as local as one of ours, but not `from socket`.
  const unix = ctx.unixSocket === true || peer?.address === "local";
  const ip = unix ? "local" : unmapIpv4(peer?.address ?? socket.remoteAddress ?? "");
  return {
    src: ip,
    local: unix || ctx.isLocalAddress(ip),
    socket: ctx.unixSocket === true,
    tls: ctx.tls?.mode === "smtps",
    ...(ctx.tag === undefined ? {} : { tag: ctx.tag }),
  };
}
