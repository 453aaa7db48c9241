// The Authentication-Results field (RFC 8601 §2.2) written from the results' texts
// (`method=result (comment) ptype.prop=value`): one result a line, long ones folded.

// The width npm:mailauth folds at, so the field reads as it always has.
const FOLD_AT = 160;

/**
 * The field's lines (no line ends): `Authentication-Results: ID;`, then each result on a
 * line of its own, separated by `;`. `authservId` is written as given (already quoted if
 * it needs to be).
 *
 * @example
 * ```ts
 * import { formatAuthResults } from "./auth_results.ts";
 * const lines = formatAuthResults("mx.example.org", ["spf=pass smtp.mailfrom=a@b.example"]);
 * if (lines.join("\n") !== "Authentication-Results: mx.example.org;\n spf=pass smtp.mailfrom=a@b.example") {
 *   throw new Error();
 * }
 * ```
 */
export function formatAuthResults(authservId: string, results: readonly string[]): string[] {
  const lines = [`Authentication-Results: ${authservId};`];
  results.forEach((result, i) => {
    lines.push(...fold(` ${result}${i < results.length - 1 ? ";" : ""}`));
  });
  return lines;
}

// Folds before a space (RFC 5322 §2.2.3: the fold is the CRLF, the space stays), so that
// no line is longer than FOLD_AT where a space allows it.
function fold(text: string): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > FOLD_AT) {
    const at = rest.lastIndexOf(" ", FOLD_AT);
    const cut = at > 0 ? at : rest.indexOf(" ", FOLD_AT);
    if (cut <= 0) break;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
}
