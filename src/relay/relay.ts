// Relaying one envelope, as a `relay` action says: to its `host` (a relay URL parsed when
// the configuration loaded), else to the recipient domain's MX hosts by preference. A host
// that cannot be reached or set up passes the envelope to the next; an opportunistic
// STARTTLS whose handshake fails is tried again in clear on the same host; a reply to the
// recipient decides it.

import {
  type Config,
  limitsFor,
  type MtaLimits,
  parseRelayTarget,
  type RelayOptions,
} from "../config/mod.ts";
import { SILENT_LOGGER } from "../log/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliveryResult, errorMessage, splitAddress, tempfail } from "../mail/mod.ts";
import type { SrsKeys } from "./srs.ts";
import { type Table, withTableLookups } from "../tables/mod.ts";
import { setImmediate } from "node:timers";
import { type RecipientDsn, uniformTimeouts } from "../client/mod.ts";
import { backupHosts } from "./backup_mx.ts";
import { outgoingSender, srsDomain } from "./outgoing_sender.ts";
import { relayCredentials, relayTlsFiles } from "./credentials.ts";
import { decideMxTls } from "./mx_tls.ts";
import { findMtaStsPolicy, MemoryPolicyCache, type MtaStsCache } from "./mta_sts.ts";
import { securityOf } from "./tls_policy_check.ts";
import { type MxOptions, resolveHostAddresses, resolveMx } from "./mx.ts";
import { type BatchRun, RecipientBatcher } from "./batch.ts";
import { ConnectionPool } from "./pool.ts";
import { addressesOfFamily, connectionRate, leaseRequestFor, pickSource } from "./limits.ts";
import { DestinationPace } from "./pace.ts";
import { heldBack, noteTooFast } from "./pacing.ts";
import { type RelayRoute, RelaySession } from "./session.ts";
import { type RelayBook, type RelayTally, tallyRelay, withRelayNamed } from "./book.ts";

export { rewriteSender } from "./outgoing_sender.ts";

/** What relaying needs besides the action. */
export interface RelayContext {
  /** This host's name, for EHLO unless the action sets `helo`. */
  readonly hostname: string;
  readonly dns?: MxOptions;
  /** MTA-STS: where policies are cached (the queue file), and the HTTPS port (tests). */
  readonly mtaSts?: { readonly cache?: MtaStsCache; readonly port?: number };
  /** Bounds every step of a dialogue at once (tests); RFC 5321's values otherwise. */
  readonly timeoutMs?: number;
  /** The port MX hosts are reached on (25; tests use another). */
  readonly mxPort?: number;
  readonly log?: Logger;
  /** The open tables, for `auth <table>`. */
  readonly tables?: ReadonlyMap<string, Table>;
  /** The configuration's `pki`, `ca`, `mta limit` and `mta rate` statements. */
  readonly config?: Pick<Config, "pkis" | "cas"> & Partial<Pick<Config, "mtaLimits">>;
  readonly baseDir?: string;
  /** Where sessions are shared and limited (one for the process by default). */
  readonly pool?: ConnectionPool;
  /** Where each destination's pace is kept (one for the process by default). */
  readonly pace?: DestinationPace;
  /** Where envelopes of one message gather into one transaction (one for the process by default). */
  readonly batcher?: RecipientBatcher<BatchedRecipient>;
  /** `srs key`: senders of forwarded mail are rewritten on actions with `srs`. */
  readonly srs?: SrsKeys;
  /** True for a sender this host delivers to itself: SRS leaves such senders alone. */
  readonly isLocalSender?: (sender: string) => boolean;
  /** Where relays, routes, hosts and each domain's last status are kept (show hosts …). */
  readonly book?: RelayBook;
}

// Without a pool of the daemon's: the limits, and hand-over between envelopes, but no
// session left idle that nothing would close.
const SHARED_POOL = new ConnectionPool({ idleMs: 0 });
const SHARED_PACE = new DestinationPace();

/** One message for one recipient, as the queue holds it. */
export interface RelayMessage {
  readonly sender: string;
  readonly rcpt: string;
  readonly content: Uint8Array;
  /** The queue's message id: envelopes of one message may share a transaction. */
  readonly msgid?: string;
  /** The recipient as it reached this host, before aliases or forwarding changed it. */
  readonly originalRcpt?: string;
  /** The sender's DSN request: NOTIFY and ORCPT of this recipient, RET and ENVID of the message. */
  readonly dsn?: RecipientDsn & { readonly ret?: "FULL" | "HDRS"; readonly envid?: string };
}

/** A recipient of a shared transaction, with its own DSN parameters. */
export interface BatchedRecipient {
  readonly rcpt: string;
  readonly dsn?: RecipientDsn;
}

const SHARED_BATCHER = new RecipientBatcher<BatchedRecipient>();
// Without the queue file's cache: policies are kept for the life of the process.
const SHARED_POLICIES = new MemoryPolicyCache();
const NO_RESULT = tempfail("no result for the recipient");
const NO_HOST = tempfail("4.4.4 no host to relay to");
const actionIds = new WeakMap<RelayOptions, number>();
let nextActionId = 0;

/** Relays one message to one recipient; never throws. */
export function relayEnvelope(
  options: RelayOptions,
  message: RelayMessage,
  context: RelayContext,
): Promise<DeliveryResult> {
  const own: BatchedRecipient = {
    rcpt: message.rcpt,
    ...(message.dsn ? { dsn: { ...message.dsn } } : {}),
  };
  // Same message, same action, same recipient domain: the same next hops.
  if (!actionIds.has(options)) actionIds.set(options, nextActionId++);
  const relay = `action-${actionIds.get(options)}`;
  if (message.msgid === undefined) {
    const ticket = `${relay} ${message.rcpt} ${Math.random()}`;
    return relayBatch(options, message, () => [own], { ...context, relay, ticket })
      .then((r) => (Array.isArray(r) ? r[0] ?? NO_RESULT : r));
  }
  const domain = options.host ? "" : splitAddress(message.rcpt).domain;
  // The SRS address names the forwarding domain: one transaction per such domain.
  const key = JSON.stringify([
    message.msgid,
    actionIds.get(options),
    domain.toLowerCase(),
    options.srs ? srsDomain(message).toLowerCase() : "",
  ]);
  const run: BatchRun<BatchedRecipient> = (take) =>
    relayBatch(options, message, take, { ...context, relay, ticket: key });
  return (context.batcher ?? SHARED_BATCHER).submit(key, own, run);
}

// A batch as the relay book sees it: a task of its relay, what each route did, the
// recipients' domains' last status, and the host each result came from.
async function relayBatch(
  options: RelayOptions,
  message: RelayMessage,
  take: () => readonly BatchedRecipient[],
  context: RelayContext & { readonly relay: string; readonly ticket: string },
): Promise<DeliveryResult[] | DeliveryResult> {
  const found = await routesFor(options, message.rcpt, context);
  if (!("routes" in found)) return withRelayNamed(options, message.rcpt, found);
  const tally = tallyRelay(context.book, options, message.rcpt, found.routes);
  let taken: readonly BatchedRecipient[] = [];
  try {
    const results = await relayRoutes(options, message, () => taken = take(), context, {
      ...found,
      tally,
    });
    return tally.done(taken.map((r) => r.rcpt), results);
  } finally {
    tally.end();
  }
}

// The transaction of a batch: its routes in turn until one answers for the recipients. A
// recipient a host was not asked about, for an extension it lacks (SMTPUTF8), goes on to
// the next route; its refusal stands only once every route was reached and lacked it too.
async function relayRoutes(
  options: RelayOptions,
  message: RelayMessage,
  take: () => readonly BatchedRecipient[],
  context: RelayContext & { readonly relay: string; readonly ticket: string },
  { routes, destination, limits, byMx, tally }: Routes & { readonly tally: RelayTally },
): Promise<DeliveryResult[] | DeliveryResult> {
  const log = context.log ?? SILENT_LOGGER;
  const pool = context.pool ?? SHARED_POOL;
  const pace = context.pace ?? SHARED_PACE;
  const paced = { pace, destination, limits, log };
  const mail = pace.admit("mail", destination, limits.mailRate, context.ticket);
  if (!mail.go) return heldBack(paced, "mails", mail.at);
  // The last route that could not be reached: it might have taken what the others could not.
  let unreached: DeliveryResult | undefined;
  // Hosts dialled by name whose names had no address, for when no route got further.
  const nameless = new Set<string>();
  // Once taken: each recipient's result so far, and those still looking for a host.
  let results: DeliveryResult[] | undefined;
  let taken: readonly BatchedRecipient[] = [];
  let waiting: number[] = [];
  const answer = (failure: DeliveryResult): DeliveryResult[] | DeliveryResult => {
    if (!results) return failure;
    for (const index of waiting) results[index] = failure;
    return results;
  };
  for (const route of routes) {
    let current = route;
    let fresh = false;
    for (;;) {
      const lease = await pool.acquire(
        leaseRequestFor(current, { relay: context.relay, destination, limits }),
      );
      // A session handed over by the envelope before, unless this is the retry it failed.
      let session = fresh ? undefined : lease.session;
      if (fresh && lease.session) await lease.session.close();
      const reused = session !== undefined;
      if (!session) {
        const connection = pace.admit(
          "connection",
          destination,
          connectionRate(limits),
          context.ticket,
        );
        if (!connection.go) {
          await lease.release(undefined);
          return answer(heldBack(paced, "connections", connection.at));
        }
        const opened = await RelaySession.open(current, log);
        if (!(opened instanceof RelaySession)) {
          tally.failed(current, opened.failure.reason);
          await lease.release(undefined);
          noteTooFast(paced, [opened.failure]);
          if (opened.noAddress) nameless.add(current.host);
          else unreached = opened.failure;
          if (opened.final) return answer(opened.failure);
          if (!opened.downgrade) break;
          // OpenSMTPD's "opportunistic TLS failed, downgrading to plain": the same host, in clear.
          current = { ...current, security: "none" };
          continue;
        }
        session = opened;
        tally.connected(current, opened);
      } else {
        // An open session costs no wait: one turn of the loop (no timer) lets siblings
        // still being read from the queue join the transaction.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (!results) {
        taken = take();
        results = taken.map(() => NO_RESULT);
        waiting = taken.map((_, index) => index);
      }
      const recipients = waiting.map((index) => taken[index]!);
      const { ret, envid } = message.dsn ?? {};
      const sent = await session.send({
        sender: outgoingSender(options, message, context),
        recipients: recipients.map((r) => r.rcpt),
        content: message.content,
        dsn: {
          ...(ret ? { ret } : {}),
          ...(envid === undefined ? {} : { envid }),
          recipients: recipients.map((r) => r.dsn),
        },
      });
      await lease.release(session);
      noteTooFast(paced, sent.results);
      // A reused session the server had given up on is no verdict: once more, on a new one.
      if (reused && sent.results.every((r) => r.kind === "tempfail") && !session.usable) {
        fresh = true;
        continue;
      }
      for (const [n, index] of waiting.entries()) results[index] = sent.results[n]!;
      waiting = waiting.filter((_, n) => sent.unsupported[n]);
      if (waiting.length === 0) return results;
      break;
    }
  }
  // A real connection error says more than a name without an address.
  if (!unreached && nameless.size > 0) unreached = noAddress(destination, byMx, [...nameless]);
  if (!results) return unreached ?? NO_HOST;
  return unreached ? answer(unreached) : results;
}

// The next hops, best first, each with its TLS policy, credentials and HELO name.
async function routesFor(
  options: RelayOptions,
  rcpt: string,
  context: RelayContext,
): Promise<Routes | DeliveryResult> {
  const files = await relayTlsFiles(options, context);
  if ("kind" in files) return files;
  const tables = context.tables ?? new Map<string, Table>();
  const srcTable = options.src ? tables.get(options.src.name) : undefined;
  const heloTable = options.heloSrc ? tables.get(options.heloSrc.name) : undefined;
  if ((options.src && !srcTable) || (options.heloSrc && !heloTable)) {
    return tempfail(`4.3.0 table "${(options.src ?? options.heloSrc)!.name}" is not open`);
  }
  const sources = srcTable ? [...srcTable.keys()] : [];
  const from = (destination: string | undefined) => {
    const localAddress = pickSource(sources, destination);
    return localAddress ? { localAddress } : {};
  };
  const base = {
    helo: options.helo ?? context.hostname,
    // A helo-src table answered by a server is waited for once the local address is known.
    ...(heloTable
      ? { heloFor: (local: string) => withTableLookups(() => heloTable.lookup("addrname", local)) }
      : {}),
    ...(Object.keys(files).length > 0 ? { tls: files } : {}),
    ...(context.timeoutMs === undefined ? {} : { timeouts: uniformTimeouts(context.timeoutMs) }),
  };
  // `tls` makes TLS a must and verifies unless `no-verify`; smtp+tls:// and smtps:// verify
  // by default (OpenSMTPD 7.1); opportunistic STARTTLS never requires a verified certificate.
  const verifyRequired = options.tls !== "no-verify";
  let target = options.host;
  // `domain <table>`: the next hop by recipient domain; a domain it does not list goes by MX.
  if (!target && options.domain) {
    const domain = splitAddress(rcpt).domain.toLowerCase();
    const table = tables.get(options.domain.name);
    if (!table) return tempfail(`4.3.0 table "${options.domain.name}" is not open`);
    let url: string | undefined;
    try {
      url = await withTableLookups(() => table.lookup("relayhost", domain));
    } catch (error) {
      return tempfail(`4.3.0 table "${options.domain.name}": ${errorMessage(error)}`);
    }
    if (url !== undefined) {
      const parsed = parseRelayTarget(url);
      if (typeof parsed === "string") {
        return tempfail(`4.3.5 ${parsed} (table "${options.domain.name}", domain ${domain})`);
      }
      target = parsed;
    }
  }
  if (target) {
    const credentials = await relayCredentials(options, context);
    if (credentials && "kind" in credentials) return credentials;
    const security = target.security === "opportunistic" && options.tls
      ? "starttls"
      : target.security;
    const route: RelayRoute = {
      ...base,
      protocol: target.protocol,
      host: target.host,
      port: target.port,
      ...(target.socket ? { socket: target.socket } : {}),
      security,
      verify: security !== "opportunistic" && security !== "none" && verifyRequired,
      ...(credentials ? { credentials } : {}),
    };
    // A resolver of the daemon's own (tests) names the addresses; otherwise the system's,
    // /etc/hosts included, when the connection is made.
    const destination = target.socket ?? target.host.toLowerCase();
    const limits = limitsFor(context.config?.mtaLimits, destination);
    const routes = (list: RelayRoute[]) => ({ routes: list, destination, limits, byMx: false });
    if (target.socket) return routes([route]);
    // With `inet4`/`inet6`, the system's resolver names them too, to pick the family.
    const addresses = context.dns || limits.family
      ? await resolveHostAddresses(target.host, context.dns ?? {})
      : [];
    const usable = addressesOfFamily(addresses, limits);
    if (usable.length === 0 && addresses.length > 0) return familyMismatch(destination);
    if (usable.length === 0) return routes([{ ...route, ...from(target.host) }]);
    return routes(usable.map((address) => ({ ...route, address, ...from(address) })));
  }
  const { domain } = splitAddress(rcpt);
  const found = await resolveMx(domain, context.dns ?? {});
  if (found.kind !== "hosts") return found;
  const mx = options.backup
    ? backupHosts(found, options.backup.mx ?? context.hostname, domain)
    : found;
  if (mx.kind !== "hosts") return mx;
  const limits = limitsFor(context.config?.mtaLimits, domain);
  // Each host's TLS: the tls-policy table, DANE, MTA-STS or the action's `tls`.
  const log = context.log ?? SILENT_LOGGER;
  const decided = await decideMxTls(mx.hosts, domain, options, {
    ...context,
    log,
    mtaSts: (name) =>
      findMtaStsPolicy(name, {
        cache: context.mtaSts?.cache ?? SHARED_POLICIES,
        log,
        ...(context.dns ? { dns: context.dns } : {}),
        ...(context.mtaSts?.port ? { port: context.mtaSts.port } : {}),
        // The policy host's certificate is checked against the action's `ca`, if any.
        ...(files.ca === undefined ? {} : { ca: files.ca }),
        ...(context.timeoutMs === undefined ? {} : { timeoutMs: context.timeoutMs }),
      }),
  });
  if (!Array.isArray(decided)) return decided;
  const routes: RelayRoute[] = [];
  let mismatched = false;
  for (const { host, decision } of decided) {
    const common = {
      ...base,
      protocol: "smtp" as const,
      host,
      port: context.mxPort ?? 25,
      ...securityOf(decision),
      tlsPolicy: decision,
    } satisfies RelayRoute;
    // Each MX host by its addresses, looked up with the same resolver as the MX records.
    const addresses = await resolveHostAddresses(host, context.dns ?? {});
    const usable = addressesOfFamily(addresses, limits);
    mismatched ||= usable.length < addresses.length;
    if (addresses.length === 0) routes.push({ ...common, ...from(host) });
    for (const address of usable) routes.push({ ...common, address, ...from(address) });
  }
  if (routes.length === 0 && mismatched) return familyMismatch(domain);
  return { routes, destination: domain.toLowerCase(), limits, byMx: true };
}

/** The next hops of a destination, and the limits that apply to them. */
interface Routes {
  readonly routes: RelayRoute[];
  /** The recipient domain, or the relay host's name: what `for domain` limits name. */
  readonly destination: string;
  readonly limits: MtaLimits;
  /** The routes are the destination's MX hosts, not a relay host. */
  readonly byMx: boolean;
}

// OpenSMTPD's words for a destination none of whose addresses is of the family asked for.
function familyMismatch(destination: string): DeliveryResult {
  return tempfail(`4.4.4 Address family mismatch on destination MXs of ${destination}`);
}

// OpenSMTPD's words (mta.c) for a destination none of whose hosts had an address: "No MX
// found for destination", or for a relay host "Host not found". Worth another try: the
// names may resolve later (a SERVFAIL, a zone being fixed).
function noAddress(destination: string, byMx: boolean, hosts: readonly string[]): DeliveryResult {
  const why = `no address for ${hosts.join(", ")}`;
  return tempfail(
    byMx
      ? `4.4.4 No MX found for destination ${destination}: ${why}`
      : `4.4.4 Host not found: ${why}`,
  );
}
