// The smtpctl requests of the daemon's socket (protocol.ts frames): a request names one
// command of the grammar with its parameters; the answer is an exit code with the
// command's data (what `--json` prints, and what the text output is made from) or why not.

import { CONTROL_COMMANDS, type ControlCommand } from "./command_grammar.ts";

/** `{kind: "control", command, params}`: one smtpctl command for the daemon. */
export interface ControlRequest {
  readonly command: ControlCommand;
  readonly params: readonly string[];
}

/**
 * `{kind: "control-result", exit, data?, error?}`; a listing that comes in pages is one
 * such frame per page, `more: true` on all but the last, each page's envelopes in
 * `data.envelopes`.
 */
export interface ControlAnswer {
  /** 0 when the command succeeded. */
  readonly exit: number;
  /** What the command returns (a listing, counters, a count). */
  readonly data?: unknown;
  /** Why it failed. */
  readonly error?: string;
  /**
   * The daemon's side only: a listing read page by page as it is written (`show queue`),
   * so that no frame has to hold a queue of any size. Each page goes out with `data`.
   */
  readonly pages?: Iterable<readonly unknown[]>;
}

const KNOWN: ReadonlySet<string> = new Set(CONTROL_COMMANDS);

/** The request a frame header holds; throws on one that is not a known command. */
export function parseControlRequest(header: Record<string, unknown>): ControlRequest {
  const { command, params } = header;
  if (typeof command !== "string" || !KNOWN.has(command)) {
    throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
  if (!Array.isArray(params) || !params.every((p) => typeof p === "string")) {
    throw new Error("the command's parameters are not a list of strings");
  }
  const wanted = command.split(" ").filter((t) => t.startsWith("<")).length;
  if (params.length !== wanted) {
    throw new Error(`"${command}" takes ${wanted} parameters, not ${params.length}`);
  }
  return { command: command as ControlCommand, params };
}

/** The answer a frame header holds. */
export function parseControlAnswer(header: Record<string, unknown>): ControlAnswer {
  if (header["kind"] !== "control-result" || typeof header["exit"] !== "number") {
    throw new Error(`unexpected answer ${JSON.stringify(header)}`);
  }
  return {
    exit: header["exit"],
    ...(header["data"] === undefined ? {} : { data: header["data"] }),
    ...(typeof header["error"] === "string" ? { error: header["error"] } : {}),
  };
}
