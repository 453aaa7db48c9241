// POSIX extended regular expressions (regcomp(3) with REG_EXTENDED, as OpenSMTPD's regex
// tables compile them, with GNU libc's extensions) translated into JavaScript RegExp source,
// refusing what regcomp refuses with its messages. Matching semantics stay JavaScript's.

/** The classes of POSIX bracket expressions (`[[:alpha:]]`), in the C locale. */
const CHARACTER_CLASSES: Readonly<Record<string, string>> = {
  alpha: "A-Za-z",
  digit: "0-9",
  alnum: "0-9A-Za-z",
  upper: "A-Z",
  lower: "a-z",
  space: " \\t\\n\\r\\f\\v",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  print: " -~",
  graph: "!-~",
  cntrl: "\\x00-\\x1f\\x7f",
  xdigit: "0-9A-Fa-f",
};

// regerror(3)'s texts in GNU libc, for the errors a pattern can have.
const ERRORS = {
  badRepeat: "Invalid preceding regular expression",
  braceUnmatched: "Unmatched \\{",
  braceContent: "Invalid content of \\{\\}",
  bracketUnmatched: "Unmatched [, [^, [:, [., or [=",
  parenUnmatched: "Unmatched ( or \\(",
  range: "Invalid range end",
  classType: "Invalid character class name",
  collation: "Invalid collation character",
  trailingBackslash: "Trailing backslash",
  backReference: "Invalid back reference",
} as const;

const INTERVAL_REGEXP = /^\{(\d*)(?:(,)(\d*))?\}/;
const JS_SPECIAL_REGEXP = /[\\^$.*+?()[\]{}|\/-]/;

/**
 * The JavaScript source for a POSIX extended pattern: `\d` is a literal `d` as regcomp
 * reads it, a `)` without its `(` is literal, `a{,2}` is `a{0,2}`, `\<` and `\>` are word
 * boundaries, `[[:digit:]]` a class, `\` inside brackets a backslash. Throws a SyntaxError
 * with regerror(3)'s text where regcomp fails (`(?:a)`, `*a`, `[a`, `a{1`).
 *
 * @example
 * ```ts
 * posixToJavaScript("^[[:alnum:]._-]+@example\\.org$"); // "^[0-9A-Za-z._\\-]+@example\\.org$"
 * ```
 */
export function posixToJavaScript(pattern: string): string {
  let out = "";
  // Where the last atom began in `out` (for stacked quantifiers), undefined when nothing
  // before may be repeated (start, `(`, `|`, an anchor).
  let atom: number | undefined;
  let quantified = false;
  const open: number[] = [];
  let closedGroups = 0;
  let i = 0;
  const literal = (text: string) => {
    atom = out.length;
    quantified = false;
    out += text;
  };
  const anchor = (text: string) => {
    atom = undefined;
    out += text;
  };
  const quantify = (text: string) => {
    if (atom === undefined) throw new SyntaxError(ERRORS.badRepeat);
    // `a**` and `a*{2}` are valid POSIX; JavaScript wants the repeated part grouped.
    if (quantified) out = `${out.slice(0, atom)}(?:${out.slice(atom)})`;
    out += text;
    quantified = true;
  };
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const d = pattern[i + 1];
      if (d === undefined) throw new SyntaxError(ERRORS.trailingBackslash);
      i += 2;
      if (d >= "1" && d <= "9") {
        if (Number(d) > closedGroups) throw new SyntaxError(ERRORS.backReference);
        literal(`\\${d}`);
      } else if ("wWsS".includes(d)) literal(`\\${d}`);
      else if (d === "b" || d === "B") anchor(`\\${d}`);
      else if (d === "<") anchor("\\b(?=\\w)");
      else if (d === ">") anchor("\\b(?<=\\w)");
      else if (d === "`") anchor("^");
      else if (d === "'") anchor("$");
      else literal(escapeLiteral(d));
      continue;
    }
    if (c === "[") {
      const bracket = readBracket(pattern, i);
      literal(bracket.source);
      i = bracket.end;
      continue;
    }
    i++;
    if (c === "(") {
      open.push(out.length);
      anchor("(");
    } else if (c === ")") {
      const start = open.pop();
      if (start === undefined) literal("\\)");
      else {
        closedGroups++;
        out += ")";
        atom = start;
        quantified = false;
      }
    } else if (c === "|") anchor("|");
    else if (c === "^" || c === "$") anchor(c);
    else if (c === "*" || c === "+" || c === "?") quantify(c);
    else if (c === "{") {
      const m = INTERVAL_REGEXP.exec(pattern.slice(i - 1));
      if (atom === undefined) throw new SyntaxError(ERRORS.badRepeat);
      if (!m) {
        throw new SyntaxError(
          pattern.indexOf("}", i) === -1 ? ERRORS.braceUnmatched : ERRORS.braceContent,
        );
      }
      const min = m[1] === "" ? 0 : Number(m[1]);
      const max = m[2] === undefined ? String(min) : m[3] === "" ? "" : m[3]!;
      if (m[1] === "" && m[2] === undefined) throw new SyntaxError(ERRORS.braceContent);
      if (max !== "" && Number(max) < min) throw new SyntaxError(ERRORS.braceContent);
      quantify(m[2] === undefined ? `{${min}}` : `{${min},${max}}`);
      i += m[0].length - 1;
    } else if (c === ".") literal(".");
    else literal(escapeLiteral(c));
  }
  if (open.length > 0) throw new SyntaxError(ERRORS.parenUnmatched);
  return out;
}

function escapeLiteral(c: string): string {
  return JS_SPECIAL_REGEXP.test(c) ? `\\${c}` : c;
}

// A bracket expression from its `[` at `start`: `]` first is literal, `\` is literal,
// classes, collating symbols and equivalence classes of one character, ranges.
function readBracket(pattern: string, start: number): { source: string; end: number } {
  let i = start + 1;
  let negated = false;
  if (pattern[i] === "^") {
    negated = true;
    i++;
  }
  let body = "";
  let first = true;
  for (;;) {
    const c = pattern[i];
    if (c === undefined) throw new SyntaxError(ERRORS.bracketUnmatched);
    if (c === "]" && !first) return { source: `[${negated ? "^" : ""}${body}]`, end: i + 1 };
    first = false;
    const item = readBracketItem(pattern, i);
    i = item.end;
    if (item.class !== undefined) {
      if (pattern[i] === "-" && pattern[i + 1] !== "]") throw new SyntaxError(ERRORS.range);
      body += item.class;
      continue;
    }
    if (pattern[i] === "-" && pattern[i + 1] !== undefined && pattern[i + 1] !== "]") {
      const end = readBracketItem(pattern, i + 1);
      if (end.class !== undefined || end.char! < item.char!) throw new SyntaxError(ERRORS.range);
      body += `${escapeInClass(item.char!)}-${escapeInClass(end.char!)}`;
      i = end.end;
      continue;
    }
    body += escapeInClass(item.char!);
  }
}

function readBracketItem(
  pattern: string,
  i: number,
): { char?: string; class?: string; end: number } {
  const c = pattern[i];
  if (c === undefined) throw new SyntaxError(ERRORS.bracketUnmatched);
  const kind = pattern[i + 1];
  if (c === "[" && (kind === ":" || kind === "." || kind === "=")) {
    const close = pattern.indexOf(`${kind}]`, i + 2);
    if (close === -1) throw new SyntaxError(ERRORS.bracketUnmatched);
    const name = pattern.slice(i + 2, close);
    const end = close + 2;
    if (kind === ":") {
      const members = CHARACTER_CLASSES[name];
      if (members === undefined) throw new SyntaxError(ERRORS.classType);
      return { class: members, end };
    }
    if ([...name].length !== 1) throw new SyntaxError(ERRORS.collation);
    return { char: name, end };
  }
  return { char: c, end: i + 1 };
}

function escapeInClass(c: string): string {
  return "\\]^-[".includes(c) ? `\\${c}` : c;
}
