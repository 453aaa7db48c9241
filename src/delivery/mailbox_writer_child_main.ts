// Entry point of `mail.agent` under `deno run` (a compiled executable reaches the same
// code through cli.ts). It imports nothing beyond the mailbox writers, so a child running
// as a mail user needs no module cache of the daemon's.

import { runMailAgent } from "./mail_agent.ts";

if (import.meta.main) Deno.exit(await runMailAgent());
