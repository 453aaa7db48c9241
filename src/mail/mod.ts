/**
 * Mail primitives every box shares and none owns: delivery results, error text,
 * addresses, dates, ids, bytes and exit statuses. A leaf: it imports nothing from other boxes.
 *
 * @module
 */
export { DELIVERED, failureFromReply, permfail, tempfail } from "./outcome.ts";
export type { DeliveryFailure, DeliveryResult } from "./outcome.ts";
export { errorMessage } from "./error_message.ts";
export { EX } from "./sysexits.ts";
export type { ExitCode } from "./sysexits.ts";
