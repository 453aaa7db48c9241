// Keeps an address-list field within RFC 5322's line limit once its bare names have been
// completed: a line that completion took past 998 octets is folded after commas. Which
// names are completed is qualify_addresses.ts's business.

import { AddressScanner } from "./_address_scanner.ts";

/** RFC 5322 §2.1.1: a line is at most 998 characters, its CRLF not counted. */
export const LINE_MAX = 998;

/** Options of {@link foldCompletedLines}. */
export interface CompletedField {
  /** The value as completion left it. */
  readonly completed: string;
  /** Octets before the value on the field's first line (`To:` is 3). */
  readonly nameLength: number;
}

/**
 * `completed` (what completion made of the field value `original`, binary strings) with
 * each line it took past {@link LINE_MAX} folded after a comma outside quotes and
 * comments, as late on the line as still fits. A line that was over the limit already is
 * left as it was, and so is one with no comma to fold at.
 *
 * @example
 * ```ts
 * import { foldCompletedLines } from "./fold_completed_lines.ts";
 * const value = ` ${Array.from({ length: 120 }, (_, i) => `u${i}`).join(", ")}\r\n`;
 * const completed = value.replaceAll(/u\d+/g, "$&@mx.test");
 * foldCompletedLines(value, { completed, nameLength: 3 }).includes(",\r\n u");
 * // true
 * ```
 */
export function foldCompletedLines(
  original: string,
  field: CompletedField,
): string {
  const before = linesOf(original);
  const after = linesOf(field.completed);
  // Completion only inserts text within lines; anything else is not ours to fold.
  if (before.length !== after.length) return field.completed;
  const commas = bareCommas(field.completed);
  let out = "";
  let offset = 0;
  for (let i = 0; i < after.length; i++) {
    const line = after[i]!;
    const indent = i === 0 ? field.nameLength : 0;
    const fits = (text: string) => indent + lengthOf(text) <= LINE_MAX;
    if (fits(line) || !fits(before[i]!)) out += line;
    else {out += foldLine(line, {
        indent,
        commas: commas.filter((c) => c >= offset).map((c) => c - offset),
      });}
    offset += line.length;
  }
  return out;
}

// The lines of a value, each with its line end.
function linesOf(value: string): string[] {
  return value.split(/(?<=\n)/);
}

// A line's length without its line end.
function lengthOf(line: string): number {
  return line.length - (line.endsWith("\r\n") ? 2 : line.endsWith("\n") ? 1 : 0);
}

// Where the value's commas stand outside quotes and comments.
function bareCommas(value: string): number[] {
  const scan = new AddressScanner();
  const found: number[] = [];
  for (let i = 0; i < value.length; i++) {
    if (scan.step(value[i]!) && value[i] === ",") found.push(i);
  }
  return found;
}

// One line folded at its commas (their positions in it, in order): each piece takes the
// last comma that keeps it within the limit, or the first one when none does.
function foldLine(
  line: string,
  options: { readonly indent: number; readonly commas: readonly number[] },
): string {
  const ending = line.slice(lengthOf(line));
  const body = line.slice(0, lengthOf(line));
  const { commas } = options;
  let out = "";
  let start = 0;
  let width = options.indent;
  let next = 0;
  while (width + body.length - start > LINE_MAX) {
    let cut = -1;
    while (next < commas.length && width + commas[next]! + 1 - start <= LINE_MAX) {
      cut = commas[next++]!;
    }
    if (cut === -1 && next < commas.length) cut = commas[next++]!;
    // Nothing but blanks after the comma would make a line of only white space.
    if (cut === -1 || body.slice(cut + 1).trim() === "") break;
    out += body.slice(start, cut + 1) + (ending || "\r\n");
    // The blank after the comma folds the line; without one, a space is added (unfolded,
    // the list reads the same).
    const blank = body[cut + 1] === " " || body[cut + 1] === "\t";
    if (!blank) out += " ";
    width = blank ? 0 : 1;
    start = cut + 1;
  }
  return out + body.slice(start) + ending;
}
