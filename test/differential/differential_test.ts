// The differential test: every probe of every case asked of this daemon, and each reply
// class (2xx, 4xx, 5xx, or a closed connection) compared with the one OpenSMTPD 6.8 gave,
// recorded by record.ts in recorded/CASE.json. A difference fails the test unless it is
// one of the deliberate differences listed below, each with its reason.

import { runMakemap } from "../../src/compat/mod.ts";
import { assertEquals, assertTrue } from "../assert.ts";
import { freePort, spawnLoggedDaemon, waitListening } from "../_helpers.ts";
import { type Case, CASES, configText, envelopeCount } from "./_cases.ts";
import { type CaseRecord, probeCase, type ProbeResult } from "./_probe.ts";

/**
 * Differences known and not yet removed, as patterns over the question's key
 * (`case|src|greeting|from|to`), each saying what differs. An entry that no longer matches
 * any difference is reported, to be deleted; deliberate differences belong in the README's
 * "Differences from OpenSMTPD", not here.
 */
const NOT_YET: readonly [RegExp, string][] = [];

const RECORDED = new URL("./recorded/", import.meta.url).pathname;

function replyClass(code: string): string {
  return /^\d/.test(code) ? `${code[0]}xx` : code;
}

// Every answer of a case as `key → class`, the key naming the question.
function answers(caseName: string, results: readonly ProbeResult[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of results) {
    const session = `${caseName}|${r.src}|${r.greeting}`;
    out.set(`${session}|greeting`, replyClass(r.greet));
    for (const t of r.transactions) {
      out.set(`${session}|${t.from}|MAIL`, replyClass(t.mail));
      for (const [to, code] of Object.entries(t.rcpt)) {
        out.set(`${session}|${t.from}|${to}`, replyClass(code));
      }
    }
  }
  return out;
}

async function askOurs(c: Case): Promise<ProbeResult[]> {
  const dir = await Deno.makeTempDir({ prefix: `smtpd-diff-${c.name}-` });
  try {
    for (const file of c.files) {
      await Deno.writeTextFile(`${dir}/${file.name}`, file.text);
      if (file.makemap) {
        const type = file.makemap === "map" ? [] : ["-t", file.makemap];
        assertEquals(await runMakemap([...type, `${dir}/${file.name}`]), 0, `makemap ${file.name}`);
      }
    }
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/smtpd.conf`,
      `queue path "${dir}/queue"\n${configText(c, dir, port)}`,
    );
    const daemon = spawnLoggedDaemon(`${dir}/smtpd.conf`);
    try {
      await waitListening(port);
      return await probeCase(c, port);
    } finally {
      daemon.child.kill("SIGTERM");
      const status = await daemon.exited();
      if (!status.success && status.signal !== "SIGTERM") console.log(daemon.log());
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(`the same reply class as OpenSMTPD 6.8 for ${envelopeCount()} envelopes`, async (t) => {
  const used = new Set<string>();
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const record: CaseRecord = JSON.parse(await Deno.readTextFile(`${RECORDED}/${c.name}.json`));
      const theirs = answers(c.name, record.results);
      const ours = answers(c.name, await askOurs(c));
      assertEquals([...ours.keys()], [...theirs.keys()], "the same questions were asked");
      const differing = [...theirs].filter(([key, cls]) => ours.get(key) !== cls);
      const known = (key: string) => NOT_YET.find(([pattern]) => pattern.test(key));
      for (const [key] of differing) if (known(key)) used.add(known(key)![1]);
      const differences = differing.filter(([key]) => !known(key))
        .map(([key, cls]) => `${key}: OpenSMTPD ${cls}, here ${ours.get(key)}`);
      assertEquals(differences, []);
    });
  }
  for (const [, what] of NOT_YET) {
    if (!used.has(what)) {
      console.log(`differential: now as OpenSMTPD, delete from NOT_YET: ${what}`);
    }
  }
  assertTrue(envelopeCount() >= 300, "at least 300 envelopes");
});
