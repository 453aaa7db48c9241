// Which agent an envelope's delivery belongs to, as OpenSMTPD's log names it: envelopes of
// relay actions are the mta's, every other one the mda's.

import type { Config } from "../config/mod.ts";

/** The agent of an envelope's action: `mta` for relay actions, `mda` for the rest. */
export function agentOfAction(
  config: Config,
): (envelope: { readonly action: string }) => "mda" | "mta" {
  const relays = new Set(
    config.actions.filter((a) => a.method.kind === "relay").map((a) => a.name),
  );
  return (envelope) => relays.has(envelope.action) ? "mta" : "mda";
}
