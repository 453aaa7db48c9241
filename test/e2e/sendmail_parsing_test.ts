// sendmail as programs run it, on what it must read as OpenSMTPD's sendmail does: -E / -J
// whose value is only ever attached.

import { assertEquals, assertTrue } from "../assert.ts";
import { readQueued, runSendmailProcess, sendmailScratch } from "../fuzz/_sendmail_process.ts";

const encode = (text: string) => new TextEncoder().encode(text);

Deno.test("sendmail -E and -J take only an attached value: the next word is a recipient", async () => {
  const scratch = await sendmailScratch();
  const message = encode("Subject: x\n\nb\n");
  const cases: [string[], string[]][] = [
    [["-E", "g1@example.test"], ["g1@example.test"]],
    [["-J", "g2@example.test"], ["g2@example.test"]],
    [["-tE", "g3@example.test"], ["g3@example.test"]],
    [["-Ex", "-Jy", "g4@example.test"], ["g4@example.test"]],
    [["-F", "-E", "g5@example.test"], ["g5@example.test"]],
  ];
  for (const [args, rcpts] of cases) {
    const run = await runSendmailProcess(scratch, args, message);
    assertEquals(run.code, 0, `${JSON.stringify(args)}: ${run.stderr}`);
    assertTrue(run.msgid, run.stderr);
    assertEquals((await readQueued(scratch, run.msgid)).recipients, rcpts);
  }
  await Deno.remove(scratch.dir, { recursive: true });
});
