// OpenSMTPD's format specifiers (smtpd.conf(5) FORMAT SPECIFIERS): `%{rcpt.user}`,
// `%{sender.domain[0:3]}`, `%{user.username:lowercase|strip}`, `~/` for the home.

import { splitAddress, untaggedLocal } from "../mail/mod.ts";

/** The values a format may refer to. */
export interface FormatVars {
  /** The envelope sender, "" for the null sender. */
  readonly sender: string;
  /** The original recipient. */
  readonly rcpt: string;
  /** The recipient after expansion (aliases, virtual). */
  readonly dest: string;
  /** The name of the user the delivery runs as (`%{user.username}`). */
  readonly username: string;
  /** The user's home directory, when known. */
  readonly directory?: string;
  /** `smtp sub-addr-delim`, where `:strip` cuts a local part (default "+"). */
  readonly subAddrDelim?: string;
}

// Characters that could mean something to a shell or a path, replaced unless `raw`.
const UNSAFE_REGEXP = /[!#$%&'*?`{|}~]/g;
// mda_expand_format: `%%` is a literal `%`, `%{…}` a token; any other `%` is kept.
const TOKEN_REGEXP = /%%|%\{([^}]*)\}/g;
const SPEC_REGEXP = /^([a-z.]+)(?:\[(-?\d*)(?::(-?\d*))?\])?(?::([a-z|]+))?$/;

/** Options of {@link expandFormat}. */
export interface FormatOptions {
  /**
   * Applied to every expanded value instead of the default replacement, and not undone
   * by `:raw`: an mda command line passes values through its shell escaping.
   */
  readonly escape?: (value: string) => string;
  /**
   * The template is a file system path: a value from the envelope (sender, rcpt, dest
   * and their parts) can add no path component and name no parent, even with `:raw`.
   */
  readonly path?: boolean;
}

// Tokens whose values come from the client: a quoted local part may hold `/` and `..`
// (RFC 5321 §4.1.2), which in a path would climb out of the mail store.
const ENVELOPE_TOKENS = new Set([
  "sender",
  "sender.user",
  "sender.domain",
  "rcpt",
  "rcpt.user",
  "rcpt.domain",
  "dest",
  "dest.user",
  "dest.domain",
]);

/** Expands every `%{…}` (and `%%`) of a template; throws on an unknown token or modifier. */
export function expandFormat(
  template: string,
  vars: FormatVars,
  options: FormatOptions = {},
): string {
  let text = template;
  if (text.startsWith("~/")) text = `%{user.directory}${text.slice(1)}`;
  return text.replace(
    TOKEN_REGEXP,
    (_all, spec: string | undefined) => spec === undefined ? "%" : expandToken(spec, vars, options),
  );
}

/** True when the template needs the user's home directory. */
export function needsDirectory(template: string): boolean {
  return template.startsWith("~/") || /%\{user\.directory/i.test(template);
}

function expandToken(spec: string, vars: FormatVars, options: FormatOptions): string {
  const m = SPEC_REGEXP.exec(spec.toLowerCase());
  if (!m) throw new Error(`Bad format specifier "%{${spec}}"`);
  const [, name, from, to, modifiers] = m as unknown as [string, string, string?, string?, string?];
  let value = tokenValue(name, vars);
  let raw = false;
  for (const modifier of modifiers ? modifiers.split("|") : []) {
    switch (modifier) {
      case "lowercase":
        value = value.toLowerCase();
        break;
      case "uppercase":
        value = value.toUpperCase();
        break;
      case "strip":
        value = stripTag(value, vars.subAddrDelim ?? "+");
        break;
      case "raw":
        raw = true;
        break;
      default:
        throw new Error(`Unknown format modifier "${modifier}" in "%{${spec}}"`);
    }
  }
  // mda_expand_token slices the modified value (`:strip` changes its length).
  if (from !== undefined) value = slice(value, from, to, spec);
  if (options.path && ENVELOPE_TOKENS.has(name)) value = pathSafe(value);
  if (options.escape) return options.escape(value);
  // The home directory is the system's (or the userbase's) word, used as it is, as
  // mda_expand_token does: a `#` in it would otherwise lead to another directory.
  return raw || name === "user.directory" ? value : value.replace(UNSAFE_REGEXP, ":");
}

// `/` becomes `:` and so does a leading dot, so that the value is one file name that is
// neither `.` nor `..` nor hidden.
function pathSafe(value: string): string {
  return value.replaceAll("/", ":").replace(/^\./, ":");
}

function tokenValue(name: string, vars: FormatVars): string {
  switch (name) {
    case "sender":
      return vars.sender;
    case "sender.user":
      return splitAddress(vars.sender).local;
    case "sender.domain":
      return splitAddress(vars.sender).domain;
    case "rcpt":
      return vars.rcpt;
    case "rcpt.user":
      return splitAddress(vars.rcpt).local;
    case "rcpt.domain":
      return splitAddress(vars.rcpt).domain;
    case "dest":
      return vars.dest;
    case "dest.user":
      return splitAddress(vars.dest).local;
    case "dest.domain":
      return splitAddress(vars.dest).domain;
    case "user.username":
      return vars.username;
    case "user.directory":
      if (vars.directory === undefined) throw new Error("The user's home directory is unknown");
      return vars.directory;
    case "mbox.from":
      return vars.sender === "" ? "MAILER-DAEMON" : vars.sender;
    default:
      throw new Error(`Unknown format specifier "%{${name}}"`);
  }
}

// Offsets as OpenSMTPD's mda_expand_token reads them: `[n]` is `[n:n]`, the end is
// inclusive, a negative begin counts from the end and a negative end from the last
// character (so `[0:-4]` of "example.org" is "example", and `[-1]` ends before it
// begins). An end past the value is its end; a begin past it, or an end before the
// begin, makes the whole expansion fail. An empty value stays empty.
function slice(value: string, from: string, to: string | undefined, spec: string): string {
  const bad = () => new Error(`Bad format specifier "%{${spec}}"`);
  if (from === "" && to === undefined) throw bad();
  let begin = from === "" ? 0 : Number(from);
  let end = to === undefined ? begin : to === "" ? Infinity : Number(to);
  const length = value.length;
  if (length === 0) return "";
  if (begin >= length) throw bad();
  if (end >= length) end = length - 1;
  if (begin < 0) begin += length;
  if (end < 0) end += length - 1;
  if (begin < 0 || end < 0 || end < begin) throw bad();
  return value.slice(begin, end + 1);
}

// mod_strip: the local part ends at the sub-address delimiter.
function stripTag(value: string, delimiter: string): string {
  const { local } = splitAddress(value);
  return untaggedLocal(local, delimiter) + value.slice(local.length);
}
