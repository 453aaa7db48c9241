// The text of anything thrown, for logs and delivery reasons.

/**
 * The message of an `Error`, or the value itself as text.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./error_message.ts";
 * errorMessage(new Error("disk full")); // "disk full"
 * errorMessage("boom"); // "boom"
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
