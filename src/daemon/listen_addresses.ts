// Where a `listen on` statement binds: an IP address, `localhost`, `any`, `all`, an
// interface name (its addresses, from the system) or a host name. BSD's loopback `lo0`,
// which OpenSMTPD configurations use, is Linux's `lo` here.

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Config, Diagnostic, Listener, SourcePosition } from "../config/mod.ts";
import { formatPosition } from "../config/mod.ts";

/** The addresses one listener binds, and what the operator should know about them. */
export interface ListenAddresses {
  readonly addresses: readonly string[];
  /** Set when the name was taken to mean something else (`lo0` on Linux). */
  readonly warning?: string;
}

/** A listen address that names nothing on this machine. */
export class ListenAddressError extends Error {
  readonly position: SourcePosition;
  constructor(message: string, position: SourcePosition) {
    super(message);
    this.name = "ListenAddressError";
    this.position = position;
  }
}

/** The system's interfaces as {@link resolveListenAddresses} reads them. */
export type InterfaceList = readonly Pick<
  Deno.NetworkInterfaceInfo,
  "name" | "family" | "address"
>[];

// BSD names Linux spells differently: the seed configurations say `lo0`.
const INTERFACE_ALIASES: Readonly<Record<string, string>> = { lo0: "lo" };

/**
 * Resolves a listener's address, in OpenSMTPD's order: an address literal, the keywords,
 * an interface (or its alias), then a host name; anything else is an error that lists
 * the interfaces there are.
 */
export async function resolveListenAddresses(
  listener: Pick<Listener, "address" | "family" | "position" | "addressPosition">,
  interfaces: InterfaceList = systemInterfaces(),
): Promise<ListenAddresses> {
  const { address, family } = listener;
  const position = listener.addressPosition ?? listener.position;
  const fits = (ip: string) =>
    family === undefined || (family === "inet4" ? isIP(ip) === 4 : isIP(ip) === 6);
  const choose = (candidates: readonly string[], what: string): string[] => {
    const chosen = candidates.filter(fits);
    if (chosen.length === 0) {
      throw new ListenAddressError(`${what} has no ${family} address`, position);
    }
    return chosen;
  };
  if (isIP(address) !== 0) return { addresses: choose([address], `"${address}"`) };
  if (address === "any") return { addresses: [family === "inet6" ? "::" : "0.0.0.0"] };
  if (address === "localhost") {
    const loopback = interfaces.some((i) => i.address === "::1") ? ["127.0.0.1", "::1"] : [
      "127.0.0.1",
    ];
    return { addresses: choose(loopback, "localhost") };
  }
  if (address === "all") {
    return { addresses: choose(bindable(interfaces).map((i) => i.address), "This machine") };
  }
  const byName = (name: string) => bindable(interfaces).filter((i) => i.name === name);
  if (byName(address).length > 0) {
    return { addresses: choose(byName(address).map((i) => i.address), `Interface ${address}`) };
  }
  const alias = INTERFACE_ALIASES[address];
  if (alias !== undefined && byName(alias).length > 0) {
    return {
      addresses: choose(byName(alias).map((i) => i.address), `Interface ${alias}`),
      warning: `Interface ${address} does not exist here: listening on ${alias}, its equivalent`,
    };
  }
  const resolved = await lookupHost(address);
  if (resolved.length > 0) return { addresses: choose(resolved, `Host ${address}`) };
  const names = [...new Set(interfaces.map((i) => i.name))].join(", ");
  throw new ListenAddressError(
    `No interface or host named "${address}" (interfaces: ${
      names || "none readable without --allow-sys"
    })`,
    position,
  );
}

/** Checks every listener's address (for `smtpd -n`): one error per name that is nothing. */
export async function checkListenAddresses(
  config: Config,
  interfaces?: InterfaceList,
): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const bound: Bound[] = [];
  for (const listener of config.listeners) {
    if (listener.address === "socket") continue;
    try {
      const { addresses, warning } = await resolveListenAddresses(listener, interfaces);
      if (warning) {
        diagnostics.push({ severity: "warning", message: warning, position: where(listener) });
      }
      const clash = addresses.map((a) => boundTwice(bound, listener, a)).find((m) => m);
      if (clash) {
        diagnostics.push({ severity: "error", message: clash, position: listener.position });
      }
    } catch (error) {
      if (!(error instanceof ListenAddressError)) throw error;
      diagnostics.push({ severity: "error", message: error.message, position: error.position });
    }
  }
  return diagnostics;
}

function where(listener: Pick<Listener, "position" | "addressPosition">): SourcePosition {
  return listener.addressPosition ?? listener.position;
}

// IPv6 link-local addresses need a zone to be bound; OpenSMTPD leaves them out as well.
function bindable(interfaces: InterfaceList): InterfaceList {
  return interfaces.filter((i) => !i.address.toLowerCase().startsWith("fe80:"));
}

function systemInterfaces(): InterfaceList {
  try {
    return Deno.networkInterfaces();
  } catch {
    // Without --allow-sys the interfaces cannot be read; only addresses and names resolve.
    return [];
  }
}

async function lookupHost(name: string): Promise<string[]> {
  try {
    return (await lookup(name, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/**
 * Every address each listener binds, in order; a name that is nothing stops the start
 * with the file, line and column.
 */
export async function listenerBindings(
  listeners: readonly Listener[],
  log: { warn(line: string): void },
): Promise<[Listener, string][]> {
  const bindings: [Listener, string][] = [];
  const bound: Bound[] = [];
  for (const listener of listeners) {
    if (listener.address === "socket") {
      bindings.push([listener, "socket"]);
      continue;
    }
    try {
      const { addresses, warning } = await resolveListenAddresses(listener);
      if (warning) log.warn(`smtpd: ${formatPosition(where(listener))}: ${warning}`);
      for (const address of addresses) {
        const clash = boundTwice(bound, listener, address);
        if (clash) throw new Error(`${formatPosition(listener.position)}: ${clash}`);
        bindings.push([listener, address]);
      }
    } catch (error) {
      if (!(error instanceof ListenAddressError)) throw error;
      throw new Error(`${formatPosition(error.position)}: ${error.message}`);
    }
  }
  return bindings;
}

interface Bound {
  readonly address: string;
  readonly port: number;
  readonly listener: Listener;
}

/**
 * Says so when an earlier listener binds the same address and port, or a wildcard that
 * takes it (0.0.0.0 every IPv4 address; "::" every address, IPv4 too on a dual stack):
 * only one socket can hold it, so the second listener would never start.
 */
function boundTwice(bound: Bound[], listener: Listener, address: string): string | undefined {
  // Port 0 takes a free port of the system's choosing: never the same twice.
  if (listener.port === 0) return undefined;
  const first = bound.find((b) =>
    b.port === listener.port && b.listener !== listener && overlaps(b.address, address)
  );
  if (!first) {
    bound.push({ address, port: listener.port, listener });
    return undefined;
  }
  const how = first.address === address ? "does already" : `does already, as ${first.address}`;
  return `listen on ${listener.address} port ${listener.port} binds ${address} port ` +
    `${listener.port}, as the listener at ${formatPosition(first.listener.position)} ${how}`;
}

function overlaps(a: string, b: string): boolean {
  if (a === b || a === "::" || b === "::") return true;
  if (a === "0.0.0.0") return isIP(b) === 4;
  return b === "0.0.0.0" && isIP(a) === 4;
}
