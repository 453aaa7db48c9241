// Prints a model back as modern smtpd.conf text: a legacy file comes out converted, and
// printing what was printed gives the same text again.

import type {
  Action,
  Config,
  Criterion,
  DeliveryMethod,
  Listener,
  Match,
  TableDecl,
  TableRef,
} from "./model.ts";
import { DEFAULT_SMTP_LIMITS, DEFAULTS } from "./defaults.ts";
import { printWord as word, quoteString as q } from "./lexer.ts";
import { formatDuration } from "./units.ts";
import { printMtaLimits } from "./print_mta.ts";

/** The configuration in the modern grammar, one statement per line. */
export function printConfig(config: Config): string {
  const tables = new Map(config.tables.map((t) => [t.name, t] as const));
  const ref = (r: TableRef, braces?: boolean) => printTableRef(r, tables, braces);
  const out: string[] = [];
  const section = (lines: string[]) => {
    if (lines.length === 0) return;
    if (out.length > 0) out.push("");
    out.push(...lines);
  };
  section(printGlobals(config));
  section(config.tables.filter((t) => !t.anonymous).map(printTable));
  section([
    ...config.pkis.flatMap((p) => [
      ...(p.cert !== undefined ? [`pki ${q(p.name)} cert ${q(p.cert)}`] : []),
      ...(p.key !== undefined ? [`pki ${q(p.name)} key ${q(p.key)}`] : []),
      ...(p.dhe !== undefined ? [`pki ${q(p.name)} dhe ${p.dhe}`] : []),
    ]),
    ...config.cas.map((c) => `ca ${q(c.name)} cert ${q(c.cert)}`),
  ]);
  section([
    ...[...config.mdaWrappers].map(([name, cmd]) => `mda wrapper ${q(name)} ${q(cmd)}`),
    ...config.procs.map((p) =>
      [
        `proc ${q(p.name)} ${q(p.command)}`,
        ...(p.user !== undefined ? [`user ${q(p.user)}`] : []),
        ...(p.group !== undefined ? [`group ${q(p.group)}`] : []),
        ...(p.chroot !== undefined ? [`chroot ${q(p.chroot)}`] : []),
      ].join(" ")
    ),
    ...config.filters.map((f) => `filter ${q(f.name)} ${[f.kind, ...f.words].join(" ")}`),
  ]);
  section(config.listeners.map((l) => printListener(l, ref)));
  section(config.actions.map((a) => printAction(a, ref)));
  section(config.matches.map((m) => printMatch(m, ref)));
  return out.join("\n") + "\n";
}

function printGlobals(config: Config): string[] {
  const lines: string[] = [];
  if (config.admd !== undefined) lines.push(`admd ${q(config.admd)}`);
  if (config.metrics) {
    lines.push(`metrics listen on ${q(config.metrics.address)} port ${config.metrics.port}`);
  }
  if (config.logFormat) lines.push(`log format ${config.logFormat}`);
  if (config.control) {
    const { socket, group } = config.control;
    lines.push(
      `control${socket === undefined ? "" : ` socket ${q(socket)}`}${
        group === undefined ? "" : ` group ${q(group)}`
      }`,
    );
  }
  const queue = config.queue;
  if (queue.path !== undefined) lines.push(`queue path ${q(queue.path)}`);
  if (queue.compression) lines.push("queue compression");
  if (queue.encryption) {
    lines.push(
      `queue encryption${queue.encryption.key !== undefined ? ` ${q(queue.encryption.key)}` : ""}`,
    );
  }
  if (queue.ttl !== DEFAULTS.queueTtl) lines.push(`queue ttl ${formatDuration(queue.ttl)}`);
  const retry = (["mta", "mda"] as const).filter((a) => queue.retry?.[a] !== undefined);
  if (retry.length > 0) {
    lines.push(
      `queue retry ${retry.map((a) => `${a} ${formatDuration(queue.retry![a]!)}`).join(" ")}`,
    );
  }
  const smtp = config.smtp;
  if (smtp.maxMessageSize !== DEFAULT_SMTP_LIMITS.maxMessageSize) {
    lines.push(`smtp max-message-size ${formatSize(smtp.maxMessageSize)}`);
  }
  if (smtp.maxRcpt !== DEFAULT_SMTP_LIMITS.maxRcpt) {
    lines.push(`smtp limit max-rcpt ${smtp.maxRcpt}`);
  }
  if (smtp.maxMails !== DEFAULT_SMTP_LIMITS.maxMails) {
    lines.push(`smtp limit max-mails ${smtp.maxMails}`);
  }
  if (smtp.subAddrDelim !== DEFAULTS.subAddrDelim) {
    lines.push(`smtp sub-addr-delim ${q(smtp.subAddrDelim)}`);
  }
  if (smtp.ciphers !== undefined) lines.push(`smtp ciphers ${q(smtp.ciphers)}`);
  if (smtp.greetingDelay !== undefined) {
    lines.push(`smtp greeting-delay ${formatDuration(smtp.greetingDelay)}`);
  }
  if (smtp.timeout !== undefined) lines.push(`smtp timeout ${formatDuration(smtp.timeout)}`);
  const warn = config.bounceWarnIntervals;
  if (warn.length !== 1 || warn[0] !== DEFAULTS.bounceWarnInterval) {
    lines.push(`bounce warn-interval ${warn.map(formatDuration).join(", ")}`);
  }
  if (config.mtaMaxDeferred !== undefined) lines.push(`mta max-deferred ${config.mtaMaxDeferred}`);
  lines.push(...printMtaLimits(config.mtaLimits));
  if (config.srs?.key !== undefined) lines.push(`srs key ${q(config.srs.key)}`);
  if (config.srs?.backupKey !== undefined) lines.push(`srs key backup ${q(config.srs.backupKey)}`);
  if (config.srs?.ttl !== undefined) lines.push(`srs ttl ${formatDuration(config.srs.ttl)}`);
  return lines;
}

function printTable(table: TableDecl): string {
  return `table ${word(table.name)} ${printTableBody(table)}`;
}

function printTableBody(table: TableDecl): string {
  const source = table.source;
  switch (source.kind) {
    case "list":
      return `{ ${source.values.map(q).join(", ")} }`;
    case "map":
      return `{ ${source.entries.map(([k, v]) => `${q(k)} = ${q(v)}`).join(", ")} }`;
    case "backend":
      return word(`${source.backend}:${source.config}`);
  }
}

// A one-value inline list prints as its value, except where a bare value means something
// else than a table (`tag "T"` is a literal tag; `tag { "T" }` a table).
export function printTableRef(
  r: TableRef,
  tables: ReadonlyMap<string, TableDecl>,
  braces = false,
): string {
  const table = tables.get(r.name);
  if (!table?.anonymous) return `<${word(r.name)}>`;
  const source = table.source;
  if (source.kind === "list" && source.values.length === 1 && !braces) {
    return q(source.values[0]!);
  }
  return printTableBody(table);
}

function printListener(l: Listener, ref: (r: TableRef) => string): string {
  const words = [`listen on ${word(l.address)}`];
  if (l.family) words.push(l.family);
  if (l.address !== "socket") words.push(`port ${l.port}`);
  if (l.tls === "starttls") words.push("tls");
  if (l.tls === "starttls-require") {
    words.push(l.verifyClient ? "tls-require verify" : "tls-require");
  }
  if (l.tls === "smtps") words.push(l.verifyClient ? "smtps verify" : "smtps");
  for (const pki of l.pki ?? []) words.push(`pki ${q(pki)}`);
  if (l.ca !== undefined) words.push(`ca ${q(l.ca)}`);
  if (l.auth) {
    const kw = l.auth.required ? "auth" : "auth-optional";
    words.push(l.auth.table ? `${kw} ${ref(l.auth.table)}` : kw);
  }
  if (l.senders) {
    words.push(`senders ${ref(l.senders.table)}${l.senders.masquerade ? " masquerade" : ""}`);
  }
  if (l.hostname !== undefined) words.push(`hostname ${q(l.hostname)}`);
  if (l.hostnames) words.push(`hostnames ${ref(l.hostnames)}`);
  if (l.ciphers !== undefined) words.push(`ciphers ${q(l.ciphers)}`);
  if (l.protocols !== undefined) words.push(`protocols ${q(l.protocols)}`);
  if (l.tag !== undefined) words.push(`tag ${q(l.tag)}`);
  if (l.maskSource) words.push("mask-src");
  if (l.noDsn) words.push("no-dsn");
  if (l.proxyV2) words.push("proxy-v2");
  if (l.receivedAuth) words.push("received-auth");
  if (l.filters) {
    words.push(
      l.filters.length === 1
        ? `filter ${q(l.filters[0]!)}`
        : `filter { ${l.filters.map(q).join(", ")} }`,
    );
  }
  return words.join(" ");
}

function printAction(a: Action, ref: (r: TableRef) => string): string {
  const words = [`action ${q(a.name)}`, printMethod(a.method, ref)];
  if (a.alias) words.push(`alias ${ref(a.alias)}`);
  if (a.virtual) words.push(`virtual ${ref(a.virtual)}`);
  if (a.userbase) words.push(`userbase ${ref(a.userbase)}`);
  if (a.user !== undefined) words.push(`user ${q(a.user)}`);
  if (a.wrapper !== undefined) words.push(`wrapper ${q(a.wrapper)}`);
  if (a.ttl !== undefined) words.push(`ttl ${formatDuration(a.ttl)}`);
  return words.join(" ");
}

function printMethod(m: DeliveryMethod, ref: (r: TableRef) => string): string {
  switch (m.kind) {
    case "maildir":
      return ["maildir", ...(m.path === undefined ? [] : [q(m.path)]), ...(m.junk ? ["junk"] : [])]
        .join(" ");
    case "mbox":
    case "forward-only":
    case "expand-only":
      return m.kind;
    case "mda":
      return `mda ${q(m.command)}`;
    case "lmtp":
      return `lmtp ${q(m.destination)}${m.rcptTo ? " rcpt-to" : ""}`;
    case "relay": {
      const words = ["relay"];
      if (m.host !== undefined) words.push(`host ${q(m.host.url)}`);
      if (m.backup) {
        words.push(m.backup.mx !== undefined ? `backup mx ${q(m.backup.mx)}` : "backup");
      }
      if (m.helo !== undefined) words.push(`helo ${q(m.helo)}`);
      if (m.heloSrc) words.push(`helo-src ${ref(m.heloSrc)}`);
      if (m.domain) words.push(`domain ${ref(m.domain)}`);
      if (m.tls) words.push(m.tls === "no-verify" ? "tls no-verify" : "tls");
      if (m.tlsPolicy) words.push(`tls-policy ${ref(m.tlsPolicy)}`);
      if (m.auth) words.push(`auth ${ref(m.auth)}`);
      if (m.mailFrom !== undefined) words.push(`mail-from ${q(m.mailFrom)}`);
      if (m.src) words.push(`src ${ref(m.src)}`);
      if (m.pki !== undefined) words.push(`pki ${q(m.pki)}`);
      if (m.ca !== undefined) words.push(`ca ${q(m.ca)}`);
      if (m.srs) words.push("srs");
      if (m.filters) {
        words.push(
          m.filters.length === 1
            ? `filter ${q(m.filters[0]!)}`
            : `filter { ${m.filters.map(q).join(", ")} }`,
        );
      }
      return words.join(" ");
    }
  }
}

const CRITERION_WORDS: Readonly<Record<Criterion["kind"], string>> = {
  "from-any": "from any",
  "from-local": "from local",
  "from-socket": "from socket",
  "from-src": "from src",
  "from-rdns": "from rdns",
  "from-auth": "from auth",
  "from-mail-from": "from mail-from",
  "for-any": "for any",
  "for-local": "for local",
  "for-domain": "for domain",
  "for-rcpt-to": "for rcpt-to",
  "auth": "auth",
  "helo": "helo",
  "mail-from": "mail-from",
  "rcpt-to": "rcpt-to",
  "tag": "tag",
  "tls": "tls",
};

function printMatch(m: Match, ref: (r: TableRef, braces?: boolean) => string): string {
  const words = ["match"];
  for (const c of m.criteria) {
    let text = CRITERION_WORDS[c.kind];
    if (c.table) text += `${c.regex ? " regex" : ""} ${ref(c.table, c.kind === "tag" && !c.regex)}`;
    else if (c.value !== undefined) text += ` ${q(c.value)}`;
    words.push(c.negated ? `! ${text}` : text);
  }
  if (m.filters) {
    words.push(
      m.filters.length === 1
        ? `filter ${q(m.filters[0]!)}`
        : `filter { ${m.filters.map(q).join(", ")} }`,
    );
  }
  words.push(m.decision.kind === "reject" ? "reject" : `action ${q(m.decision.action)}`);
  return words.join(" ");
}

function formatSize(bytes: number): string {
  for (const [unit, size] of [["G", 1024 ** 3], ["M", 1024 ** 2], ["K", 1024]] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
