// Entry point of the `mailbox.writer` child under `deno run` (a compiled executable reaches
// the same code through cli.ts). It imports nothing beyond the mailbox writers and the
// src/mail leaf, so a child running as a mail user needs no module cache of the daemon's.

import { runMailboxWriterChild } from "./mailbox_writer_child.ts";

if (import.meta.main) Deno.exit(await runMailboxWriterChild());
