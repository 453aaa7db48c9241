// getopt(3)'s optional values (`E::` in OpenSMTPD's sendmail): a value is one attached to
// its flag (`-Ex`), and the word after a bare flag is an operand. Commander's `[x]` takes
// that word as the value, so a bare flag is moved to where no word follows it.

import type { Command } from "commander";

/**
 * `args` with every bare flag of an optional-value option of `program` moved to just
 * before `--` (or to the end), where commander reads it without a value. The options
 * that take a value are commander's own, so a word given to one is never moved.
 *
 * @example
 * ```ts
 * import { Command } from "commander";
 * import { withBareOptionalsLast } from "./attached_values.ts";
 * const program = new Command().option("-E [x]").option("-t").option("-f <sender>");
 * withBareOptionalsLast(program, ["-tE", "bob@x.test", "-Efoo"]);
 * // ["-t", "bob@x.test", "-Efoo", "-E"]
 * ```
 */
export function withBareOptionalsLast(program: Command, args: readonly string[]): string[] {
  const find = (flag: string) => program.options.find((o) => o.short === flag || o.long === flag);
  const kept: string[] = [];
  const bare: string[] = [];
  let i = 0;
  for (; i < args.length && args[i] !== "--"; i++) {
    const arg = args[i]!;
    if (arg.length < 2 || arg[0] !== "-") {
      kept.push(arg);
      continue;
    }
    if (arg.startsWith("--")) {
      const option = find(arg);
      if (option?.optional) bare.push(arg);
      else kept.push(arg);
      if (option?.required && i + 1 < args.length) kept.push(args[++i]!);
      continue;
    }
    // A group of short flags, read as commander reads it: flags up to one that takes a
    // value, which is the rest of the word or, when that is empty, the next word.
    let group = "-";
    for (let at = 1; at < arg.length; at++) {
      const option = find(`-${arg[at]}`);
      if (!option || (!option.required && !option.optional)) {
        // A flag without a value (an unknown one is left for commander to report).
        group += arg[at]!;
        continue;
      }
      if (at + 1 < arg.length) group += arg.slice(at);
      else if (option.optional) bare.push(`-${arg[at]}`);
      else {
        kept.push(group + arg[at]!);
        group = "-";
        if (i + 1 < args.length) kept.push(args[++i]!);
      }
      break;
    }
    if (group !== "-") kept.push(group);
  }
  return [...kept, ...bare, ...args.slice(i)];
}
