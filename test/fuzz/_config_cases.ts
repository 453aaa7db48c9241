// Generated smtpd.conf text for the configuration fuzzer: files from a grammar of the
// keywords, and mutations of those and of the shipped examples.

import type { Random } from "./_harness.ts";

import { checkConfigText } from "./_config_property.ts";

export { canonicalModel, checkConfigText } from "./_config_property.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

/** The text of every shipped example, the seeds of mutation. */
export function exampleTexts(): string[] {
  return [...Deno.readDirSync(EXAMPLES)].filter((e) => e.name.endsWith(".conf"))
    .map((e) => e.name).sort().map((name) => Deno.readTextFileSync(`${EXAMPLES}${name}`));
}

// Values that stress quoting: spaces, quotes, backslashes, `$`, `#`, punctuation, 8-bit.
const AWKWARD = [
  "a b",
  'say "hi"',
  "back\\slash",
  "ends\\",
  "$notamacro",
  "#hash",
  "x,y",
  "{brace}",
  "<angle>",
  "a=b",
  "!bang",
  "tab\there",
  "caf\u00e9",
  "\u00ff\u0001",
  "",
  "=>",
  "smtp://h",
];
const PLAIN = ["alpha", "example.test", "192.0.2.1", "198.51.100.0/24", "user", "vmail", "t1"];
const DURATIONS = ["30s", "10m", "4h", "2d", "0", "90", "1000000000000000000000d", "5x"];
const SIZES = ["35M", "512K", "1G", "100", "2t", "1b", "999999999999999999999999G"];
const NUMBERS = ["1", "25", "1000", "0", "65536", "99999999999999999999999"];
const URLS = [
  "smtp://mx.example.test",
  "smtp+tls://label@relay.example.test:587",
  "lmtp://127.0.0.1:24",
  "lmtp://127.0.0.1",
  "smtps://[2001:db8::1]:465",
  "tls+auth://label@host",
  "secure://host",
  "foo://bar",
  "not a url",
  "host:99999",
];

/** A quoted string, a bare word or a macro use, drawn from plain and awkward values. */
function value(r: Random, macros: readonly string[]): string {
  const roll = r.int(10);
  if (roll < 2 && macros.length > 0) return `$${r.pick(macros)}`;
  const v = r.chance(0.5) ? r.pick(PLAIN) : r.pick(AWKWARD);
  if (roll < 6) return quote(v);
  return r.chance(0.8) ? r.pick(PLAIN) : v;
}

function quote(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function table(r: Random, macros: readonly string[], names: readonly string[]): string {
  switch (r.int(5)) {
    case 0:
      return names.length > 0 ? `<${r.pick(names)}>` : "<missing>";
    case 1:
      return `{ ${Array.from({ length: r.int(4) }, () => value(r, macros)).join(", ")} }`;
    case 2:
      return `{ ${
        Array.from({ length: 1 + r.int(3) }, () => `${value(r, macros)} = ${value(r, macros)}`)
          .join(r.chance(0.5) ? ", " : ",\n  ")
      } }`;
    default:
      return value(r, macros);
  }
}

type Gen = (r: Random, m: readonly string[], t: readonly string[]) => string;

const CRITERIA: Gen[] = [
  (r) => `from ${r.pick(["any", "local", "socket"])}`,
  (r, m, t) => `from src ${r.chance(0.2) ? "regex " : ""}${table(r, m, t)}`,
  (r, m, t) => `from ${r.pick(["rdns", "auth"])}${r.chance(0.5) ? " " + table(r, m, t) : ""}`,
  (r, m, t) => `from mail-from ${table(r, m, t)}`,
  (r) => `for ${r.pick(["any", "local"])}`,
  (r, m, t) =>
    `for ${r.pick(["domain", "rcpt-to"])} ${r.chance(0.2) ? "regex " : ""}${table(r, m, t)}`,
  (r, m, t) => `${r.pick(["helo", "mail-from", "rcpt-to"])} ${table(r, m, t)}`,
  (r, m, t) => `auth${r.chance(0.5) ? " " + table(r, m, t) : ""}`,
  (r, m, t) => `tag ${r.chance(0.5) ? value(r, m) : table(r, m, t)}`,
  () => "tls",
];

const RELAY_OPTIONS: Gen[] = [
  (r) => `host ${quote(r.pick(URLS))}`,
  (r, m) => r.chance(0.5) ? "backup" : `backup mx ${value(r, m)}`,
  (r, m) => `helo ${value(r, m)}`,
  (r, m, t) => `${r.pick(["helo-src", "domain", "auth", "src"])} ${table(r, m, t)}`,
  (r) => r.chance(0.5) ? "tls" : "tls no-verify",
  (r, m) => `${r.pick(["mail-from", "pki", "ca"])} ${value(r, m)}`,
  () => "srs",
  (r) => `ttl ${r.pick(DURATIONS)}`,
];

const METHODS: Gen[] = [
  (r, m) =>
    `maildir${r.chance(0.5) ? " " + quote(r.pick([...PLAIN, ...AWKWARD])) : ""}${
      r.chance(0.3) ? " junk" : ""
    }` + (r.chance(0.3) ? ` user ${value(r, m)}` : ""),
  () => "mbox",
  (r, m) => `mda ${value(r, m)}`,
  (r, m) => `lmtp ${value(r, m)}${r.chance(0.5) ? " rcpt-to" : ""}`,
  () => "forward-only",
  () => "expand-only",
  (r, m, t) =>
    ["relay", ...Array.from({ length: r.int(4) }, () => r.pick(RELAY_OPTIONS)(r, m, t))].join(" "),
];

const LOCAL_OPTIONS: Gen[] = [
  (r, m, t) => `${r.pick(["alias", "virtual", "userbase"])} ${table(r, m, t)}`,
  (r, m) => `${r.pick(["user", "wrapper"])} ${value(r, m)}`,
  (r) => `ttl ${r.pick(DURATIONS)}`,
];

const LISTEN_OPTIONS: Gen[] = [
  (r) => `port ${r.pick([...NUMBERS, "smtp", "submission", "smtps"])}`,
  (r) => r.pick(["family inet4", "family inet6", "inet4", "inet6"]),
  (r, m) => `${r.pick(["hostname", "tag", "pki", "ca"])} ${value(r, m)}`,
  (r, m, t) => `hostnames ${table(r, m, t)}`,
  (r) => r.pick(["tls", "tls-require", "tls-require verify", "smtps", "smtps verify", "secure"]),
  (r, m, t) => `${r.pick(["auth", "auth-optional"])}${r.chance(0.5) ? " " + table(r, m, t) : ""}`,
  (r, m, t) => `senders ${table(r, m, t)}${r.chance(0.5) ? " masquerade" : ""}`,
  (r) => r.pick(["mask-src", "no-dsn", "proxy-v2", "received-auth", "submission"]),
  (r, m) => `filter ${r.chance(0.5) ? value(r, m) : `{ ${value(r, m)}, ${value(r, m)} }`}`,
];

const LEGACY_WORDS: Gen[] = [
  (r, m) => `tagged ${r.chance(0.3) ? "! " : ""}${value(r, m)}`,
  (r) => `${r.chance(0.3) ? "! " : ""}authenticated`,
  (r) => `from ${r.chance(0.3) ? "! " : ""}${r.pick(["any", "local"])}`,
  (r, m, t) => `from source ${table(r, m, t)}`,
  (r, m, t) => `${r.pick(["sender", "recipient"])} ${table(r, m, t)}`,
  (r) => `for ${r.pick(["any", "local"])}`,
  (r, m, t) => `for domain ${table(r, m, t)}`,
  (r, m, t) => `${r.pick(["alias", "virtual", "userbase"])} ${table(r, m, t)}`,
  (r, m) => `as ${value(r, m)}`,
  (r) => `expire ${r.pick(DURATIONS)}`,
];

const LEGACY_DELIVERY: Gen[] = [
  () => "deliver to mbox",
  (r) => `deliver to maildir${r.chance(0.5) ? ` "${r.pick(PLAIN)}"` : ""}`,
  (r, m) => `deliver to ${r.pick(["mda", "lmtp"])} ${value(r, m)}`,
  () => "forward-only",
  (r) => `relay${r.chance(0.5) ? ` via ${quote(r.pick(URLS))}` : ""}`,
  (r, m) =>
    `relay ${r.pick(["tls", "tls verify", "verify"])} as ${value(r, m)} hostname ${value(r, m)}`,
  (r, m, t) => `relay hostnames ${table(r, m, t)} auth ${table(r, m, t)}`,
];

const GLOBALS: Gen[] = [
  (r, m) => `hostname ${value(r, m)}`,
  (r, m) => `admd ${value(r, m)}`,
  (r, m) => `queue path ${value(r, m)}`,
  () => "queue compression",
  (r, m) => r.pick(["queue encryption", "queue encryption key", `queue encryption ${value(r, m)}`]),
  (r) => `queue ttl ${r.pick(DURATIONS)}`,
  (r) => `${r.pick(["smtp max-message-size", "max-message-size"])} ${r.pick(SIZES)}`,
  (r) => `smtp limit max-rcpt ${r.pick(NUMBERS)} max-mails ${r.pick(NUMBERS)}`,
  (r) => `limit session max-rcpt ${r.pick(NUMBERS)}`,
  (r) => `smtp sub-addr-delim ${quote(r.pick(["+", "-", '"', "\\", "@", "ab", " "]))}`,
  (r, m) => `${r.pick(["smtp ciphers", "ciphers"])} ${value(r, m)}`,
  (r) => `smtp greeting-delay ${r.pick(DURATIONS)}`,
  (r) =>
    `${r.pick(["bounce warn-interval", "bounce-warn"])} ${
      Array.from({ length: 1 + r.int(5) }, () => r.pick(DURATIONS)).join(", ")
    }`,
  (r) => `${r.pick(["mta max-deferred", "max-mta-deferred"])} ${r.pick(NUMBERS)}`,
  (r, m) =>
    `${r.pick(["mta limit", "limit mta"])}${r.chance(0.5) ? ` for domain ${value(r, m)}` : ""} ${
      r.pick(["inet4", "inet6", "max-conn-per-host", "session-mail-max", "task-hiwat", "bogus"])
    } ${r.pick(NUMBERS)}`,
  (r, m) =>
    `queue retry ${r.pick(["mta", "mda"])} ${r.pick(DURATIONS)}` +
    `${
      r.chance(0.3)
        ? `\nmta rate for domain ${value(r, m)} ${r.pick(NUMBERS)} mails per ${
          r.pick(["minute", "hour", ...DURATIONS])
        }`
        : ""
    }`,
  (r, m) => r.pick([`srs key ${value(r, m)}`, `srs key backup ${value(r, m)}`]),
  (r) => `srs ttl ${r.pick(DURATIONS)}`,
  (r) => `expire ${r.pick(DURATIONS)}`,
  (r, m) => `mda wrapper ${value(r, m)} ${value(r, m)}`,
  (r, m) => `proc ${value(r, m)} ${value(r, m)}${r.chance(0.5) ? ` user ${value(r, m)}` : ""}`,
  (r, m) =>
    `filter ${value(r, m)} ${r.pick(["proc", "proc-exec", "chain", "phase"])} ${
      Array.from({ length: 1 + r.int(4) }, () =>
        r.chance(0.7) ? value(r, m) : r.pick(["{", "}", ",", "!", "=>"]))
        .join(" ")
    }`,
  (r, m) => `pki ${value(r, m)} ${r.pick(["cert", "certificate", "key"])} ${value(r, m)}`,
  (r, m) => `pki ${value(r, m)} dhe ${r.pick(["none", "legacy", "auto", "bogus"])}`,
  (r, m) => `ca ${value(r, m)} cert ${value(r, m)}`,
];

/** A file from the grammar: macros, tables, globals, listeners, actions and rules. */
export function generateConfig(r: Random): string {
  const macros: string[] = [];
  const tables: string[] = [];
  const actions: string[] = [];
  const lines: string[] = [];
  const legacy = r.chance(0.3);
  const count = 1 + r.int(14);
  for (let i = 0; i < count; i++) {
    switch (r.int(8)) {
      case 0: {
        const name = r.pick(["m", "ip", "dom", "cmd", "x_1"]);
        lines.push(`${name} = ${value(r, macros)}`);
        macros.push(name);
        break;
      }
      case 1: {
        const name = r.chance(0.9) ? `t${tables.length}` : value(r, macros);
        const body = r.chance(0.5)
          ? table(r, macros, []).replace(/^<.*>$/, "{ a }").replace(/^"(.*)"$/, '"file:$1"')
          : `${r.pick(["file", "db", "sqlite", "yaml", "ldap"])}:${r.pick(PLAIN)}`;
        lines.push(`table ${name} ${body.startsWith("{") || body.startsWith('"') ? body : body}`);
        tables.push(name.replace(/^"(.*)"$/, "$1"));
        break;
      }
      case 2:
        lines.push(r.pick(GLOBALS)(r, macros, tables));
        break;
      case 3:
        lines.push(
          [
            `listen on ${
              r.chance(0.7) ? r.pick(["127.0.0.1", "lo0", "socket", "all"]) : value(r, macros)
            }`,
            ...Array.from({ length: r.int(4) }, () => r.pick(LISTEN_OPTIONS)(r, macros, tables)),
          ].join(" "),
        );
        break;
      default:
        if (legacy) {
          const words = Array.from(
            { length: r.int(4) },
            () => r.pick(LEGACY_WORDS)(r, macros, tables),
          );
          if (r.chance(0.85)) words.push(r.pick(LEGACY_DELIVERY)(r, macros, tables));
          if (r.chance(0.3)) words.push(r.pick(LEGACY_WORDS)(r, macros, tables));
          lines.push(`${r.chance(0.8) ? "accept" : "reject"} ${words.join(" ")}`);
        } else if (r.chance(0.5) || actions.length === 0) {
          const name = r.chance(0.9) ? `a${actions.length}` : r.pick([...PLAIN, ...AWKWARD]);
          const method = r.pick(METHODS)(r, macros, tables);
          const options = method.startsWith("relay")
            ? ""
            : Array.from({ length: r.int(3) }, () => r.pick(LOCAL_OPTIONS)(r, macros, tables))
              .join(" ");
          lines.push(`action ${quote(name)} ${method} ${options}`.trimEnd());
          actions.push(name);
        } else {
          const criteria = Array.from(
            { length: r.int(4) },
            () => `${r.chance(0.2) ? "! " : ""}${r.pick(CRITERIA)(r, macros, tables)}`,
          );
          const decision = r.chance(0.8) ? `action ${quote(r.pick(actions))}` : "reject";
          lines.push(`match ${[...criteria, decision].join(" ")}`);
        }
    }
  }
  return lines.map((l) => r.chance(0.05) ? l.replace(" ", " \\\n  ") : l).join("\n") + "\n";
}

const NOISE = ["{", "}", "<", ">", ",", "=", "!", '"', "\\\n", "#", "$", "\n", "\u0000", "\u00e9"];
const KEYWORDS = [
  "listen",
  "on",
  "action",
  "match",
  "from",
  "for",
  "any",
  "local",
  "table",
  "relay",
  "host",
  "accept",
  "reject",
  "deliver",
  "to",
  "maildir",
  "tls",
  "auth",
  "pki",
  "tag",
  "regex",
];

/** An example or a generated file, mutated: tokens cut, repeated, swapped or replaced. */
export function mutateConfig(r: Random, base: string): string {
  let text = base;
  const edits = 1 + r.int(6);
  for (let i = 0; i < edits; i++) {
    const at = r.int(text.length + 1);
    const span = r.int(12);
    switch (r.int(6)) {
      case 0:
        text = text.slice(0, at) + text.slice(at + span);
        break;
      case 1:
        text = text.slice(0, at) + r.pick(NOISE) + text.slice(at);
        break;
      case 2:
        text = text.slice(0, at) + ` ${r.pick(KEYWORDS)} ` + text.slice(at);
        break;
      case 3:
        text = text.slice(0, at) + text.slice(at, at + span).repeat(1 + r.int(3)) + text.slice(at);
        break;
      case 4: {
        const lines = text.split("\n");
        const a = r.int(lines.length), b = r.int(lines.length);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        text = lines.join("\n");
        break;
      }
      default:
        text = text.slice(0, at) + String.fromCharCode(r.int(256)) + text.slice(at);
    }
  }
  return text;
}

/** One case: the main file's text and the files it may include, by absolute path. */
export interface ConfigCase {
  readonly text: string;
  readonly files: Readonly<Record<string, string>>;
}

/** Where a case's main file is, so `include "inc.conf"` is /fuzz/inc.conf. */
export const CASE_FILE = "/fuzz/fuzz.conf";

/**
 * One case: a generated file, or an example or a generated file mutated; sometimes with
 * a generated file included once or twice.
 */
export function configCase(r: Random, examples: readonly string[]): ConfigCase {
  const roll = r.int(10);
  const text = roll < 5
    ? generateConfig(r)
    : roll < 8
    ? mutateConfig(r, generateConfig(r))
    : mutateConfig(r, r.pick(examples));
  if (!r.chance(0.15)) return { text, files: {} };
  const lines = text.split("\n");
  for (let n = 1 + r.int(2); n > 0; n--) lines.splice(r.int(lines.length), 0, 'include "inc.conf"');
  return { text: lines.join("\n"), files: { "/fuzz/inc.conf": generateConfig(r) } };
}

/** Checks a case (see checkConfigText), its includes read from the case's files. */
export function checkConfigCase(c: ConfigCase): void {
  checkConfigText(c.text, {
    file: CASE_FILE,
    readFile: (path) => {
      const text = c.files[path];
      if (text === undefined) throw new Error(`no file ${path} here`);
      return text;
    },
  });
}
