/**
 * The `smtpd` and `smtpctl` commands: their flags, parsed the one way every command
 * parses them, dispatched into the other boxes. cli.ts picks the command by name.
 *
 * @module
 */
export { runSmtpctl } from "./smtpctl.ts";
export { runSmtpd } from "./smtpd.ts";
