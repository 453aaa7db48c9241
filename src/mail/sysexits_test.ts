import { assertEquals } from "../../test/assert.ts";
import { EX } from "./sysexits.ts";

// The numbers of <sysexits.h> (sysexits(3)), as every BSD and glibc ships them.
const SYSEXITS_H: Readonly<Record<string, number>> = {
  EX_OK: 0,
  EX_USAGE: 64,
  EX_DATAERR: 65,
  EX_NOINPUT: 66,
  EX_NOUSER: 67,
  EX_NOHOST: 68,
  EX_UNAVAILABLE: 69,
  EX_SOFTWARE: 70,
  EX_OSERR: 71,
  EX_OSFILE: 72,
  EX_CANTCREAT: 73,
  EX_IOERR: 74,
  EX_TEMPFAIL: 75,
  EX_PROTOCOL: 76,
  EX_NOPERM: 77,
  EX_CONFIG: 78,
};

Deno.test("EX holds every sysexits(3) code under its own name and number, plus FAILURE 1", () => {
  const ours = Object.fromEntries(Object.entries(EX).map(([name, code]) => [`EX_${name}`, code]));
  assertEquals(ours, { ...SYSEXITS_H, EX_FAILURE: 1 });
});

Deno.test("EX gives no two names the same code", () => {
  const codes = Object.values(EX);
  assertEquals(new Set(codes).size, codes.length);
});

Deno.test("EX agrees with this machine's <sysexits.h>", async () => {
  let header: string;
  try {
    header = await Deno.readTextFile("/usr/include/sysexits.h");
  } catch (error) {
    console.log(`skipped: /usr/include/sysexits.h cannot be read (${error})`);
    return;
  }
  const defined = Object.fromEntries(
    [...header.matchAll(/^#define\s+EX_([A-Z]+)\s+(\d+)/gm)].map((m) => [`EX_${m[1]}`, +m[2]!]),
  );
  assertEquals(defined, SYSEXITS_H);
});

// A command that answers with a bare number is how a second exit-code table starts.
Deno.test("the commands answer with EX names, never with bare numbers", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const files = ["cli.ts"];
  for (const dir of ["src/cli", "src/compat"]) {
    for await (const entry of Deno.readDir(`${root}${dir}`)) {
      if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        files.push(`${dir}/${entry.name}`);
      }
    }
  }
  const bare = /\breturn \d+;|Promise\.resolve\(\d+\)|\bexit: \d+|\? (?:EX\.\w+|\d+) : \d+;/;
  // A table row of a second table: `usage: 64,`.
  const row = /^\s*\w+: (?:6[4-9]|7[0-8]),$/;
  const found = [];
  for (const file of files.sort()) {
    const lines = (await Deno.readTextFile(`${root}${file}`)).split("\n");
    for (const [i, line] of lines.entries()) {
      if (bare.test(line) || row.test(line)) found.push(`${file}:${i + 1}`);
    }
  }
  assertEquals(found, []);
});
