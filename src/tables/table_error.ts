// The errors of table loading: a parser reports what is wrong and on which line
// (TableContentError); the loader adds the table and the file (TableLoadError).

import { errorMessage } from "../mail/mod.ts";

/** Bad table content found by a parser that does not know the table's name or file. */
export class TableContentError extends Error {
  /** The 1-based line at fault, for line-based formats. */
  readonly line: number | undefined;
  /** What is wrong, without position. */
  readonly reason: string;

  constructor(reason: string, line?: number) {
    super(line === undefined ? reason : `line ${line}: ${reason}`);
    this.name = "TableContentError";
    this.reason = reason;
    this.line = line;
  }
}

/**
 * A server answered, but not in a form the table can use (a record without a field the
 * service needs): that query fails, and the server is not taken for down.
 */
export class UnusableAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnusableAnswerError";
  }
}

/** Where a table failed to load. */
export interface TableErrorPlace {
  /** The table's name, as declared. */
  readonly table: string;
  /** The file at fault (the configuration file for inline tables). */
  readonly file: string;
  /** The 1-based line at fault, when the format has lines. */
  readonly line?: number | undefined;
}

/**
 * A table that cannot be loaded: the message names the table, the file and, for
 * line-based formats, the line.
 *
 * @example
 * ```ts
 * const e = new TableLoadError({ table: "senders", file: "/etc/senders", line: 3 }, "bad");
 * // e.message === 'Cannot load table "senders" from "/etc/senders", line 3: bad'
 * ```
 */
export class TableLoadError extends Error {
  readonly table: string;
  readonly file: string;
  readonly line: number | undefined;
  /** What is wrong, without the table and position. */
  readonly reason: string;

  constructor(place: TableErrorPlace, reason: string, options?: { cause?: unknown }) {
    const line = place.line === undefined ? "" : `, line ${place.line}`;
    super(`Cannot load table "${place.table}" from "${place.file}"${line}: ${reason}`, options);
    this.name = "TableLoadError";
    this.table = place.table;
    this.file = place.file;
    this.line = place.line;
    this.reason = reason;
  }
}

/**
 * Turns whatever loading a table threw into a {@link TableLoadError}: one already naming
 * a table is kept, a {@link TableContentError} keeps its line, anything else becomes the
 * reason.
 */
export function toTableLoadError(place: TableErrorPlace, error: unknown): TableLoadError {
  if (error instanceof TableLoadError) return error;
  if (error instanceof TableContentError) {
    const line = error.line ?? place.line;
    return new TableLoadError({ ...place, line }, error.reason, { cause: error });
  }
  const reason = errorMessage(error);
  return new TableLoadError(place, reason, { cause: error });
}
