import { assertEquals } from "../../test/assert.ts";
import { type DataSink, LineReader } from "./line_reader.ts";

const LIMITS = { commandLineMax: 512, textLineMax: 1000 };
const encoder = new TextEncoder();

function collect(): DataSink & { text(): string; headers: string[]; long: boolean } {
  const parts: Uint8Array[] = [];
  const headers: string[] = [];
  const sink = {
    headers,
    long: false,
    write: (b: Uint8Array) => void parts.push(b.slice()),
    headerLine: (l: Uint8Array) => void headers.push(new TextDecoder().decode(l)),
    lineTooLong: () => void (sink.long = true),
    text: () => new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p]))),
  };
  return sink;
}

// Feeds the input in the given chunk sizes; returns the data and what follows it.
function readData(input: string, chunkSizes: () => number) {
  const reader = new LineReader(LIMITS);
  const sink = collect();
  const bytes = encoder.encode(input);
  reader.beginData();
  let done = false;
  for (let pos = 0; pos < bytes.length && !done;) {
    const n = Math.max(1, chunkSizes());
    reader.push(bytes.subarray(pos, pos + n));
    pos += n;
    done = reader.takeData(sink);
    if (done && pos < bytes.length) reader.push(bytes.subarray(pos));
  }
  const next = reader.takeCommand();
  return { done, data: sink.text(), headers: sink.headers, next, long: sink.long };
}

const MESSAGE = "Subject: a\r\nReceived: x\r\n\r\n..dot\r\nbare\nLF\n.\nx\r\n.\r\nQUIT\r\n";
const EXPECTED = "Subject: a\r\nReceived: x\r\n\r\n.dot\r\nbare\nLF\n.\nx\r\n";

Deno.test("LineReader.takeData() gives the same data for any split of the input", () => {
  const splits: [string, () => number][] = [
    ["whole", () => 1 << 20],
    ["byte by byte", () => 1],
    ["pairs", () => 2],
    ["random", () => 1 + Math.floor(Math.random() * 7)],
  ];
  for (const [name, sizes] of splits) {
    for (let round = 0; round < (name === "random" ? 200 : 1); round++) {
      const result = readData(MESSAGE, sizes);
      assertEquals(result.done, true, name);
      assertEquals(result.data, EXPECTED, name);
      assertEquals(result.headers, ["Subject: a", "Received: x"], name);
      assertEquals(result.next, { kind: "line", text: "QUIT" }, name);
    }
  }
});

Deno.test("LineReader.takeData() flags a long line without buffering it whole", () => {
  const result = readData("a\r\n" + "z".repeat(10_000) + "\r\n.\r\n", () => 1500);
  assertEquals(result.done, true);
  assertEquals(result.long, true);
  assertEquals(result.data.length, 3 + 10_000 + 2);
});

Deno.test("LineReader.takeCommand() splits commands and refuses long ones once", () => {
  const reader = new LineReader(LIMITS);
  reader.push(encoder.encode("NOOP\r\nRSET\n" + "x".repeat(600)));
  assertEquals(reader.takeCommand(), { kind: "line", text: "NOOP" });
  assertEquals(reader.takeCommand(), { kind: "line", text: "RSET" });
  assertEquals(reader.takeCommand(), { kind: "too-long" });
  reader.push(encoder.encode("y".repeat(600)));
  assertEquals(reader.takeCommand(), undefined);
  reader.push(encoder.encode("end\r\nQUIT\r\n"));
  assertEquals(reader.takeCommand(), { kind: "line", text: "QUIT" });
});

Deno.test("LineReader.takeCommand() tells a BDAT line too long from other long lines", () => {
  const reader = new LineReader(LIMITS);
  // Whole lines, and lines whose end has not come yet.
  for (const tail of ["\r\n", ""]) {
    for (const line of ["BDAT 10" + " ".repeat(600), "bDaT\t" + "9".repeat(600)]) {
      reader.push(encoder.encode(line + tail));
      assertEquals(reader.takeCommand(), { kind: "bdat-too-long" }, line);
      if (!tail) reader.push(encoder.encode("\r\n"));
    }
    for (const line of ["BDATX" + " ".repeat(600), "NOOP BDAT " + "x".repeat(600)]) {
      reader.push(encoder.encode(line + tail));
      assertEquals(reader.takeCommand(), { kind: "too-long" }, line);
      if (!tail) reader.push(encoder.encode("\r\n"));
    }
  }
  // In an AUTH exchange a line is a response, whatever it starts with.
  reader.push(encoder.encode("BDAT " + "x".repeat(20_000) + "\r\n"));
  assertEquals(reader.takeCommand(true), { kind: "too-long" });
});

// Pushes every piece before reading: the pieces wait in the reader, and lines across them
// are joined there.
function readQueued(pieces: readonly Uint8Array[]) {
  const reader = new LineReader(LIMITS);
  const sink = collect();
  reader.beginData();
  for (const piece of pieces) reader.push(piece);
  const done = reader.takeData(sink);
  return { done, data: sink.text(), headers: sink.headers, next: reader.takeCommand() };
}

Deno.test("LineReader.takeData() reads chunks that arrived together, cut anywhere", () => {
  const bytes = encoder.encode(MESSAGE);
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const cut = `cut at ${a} and ${b}`;
      const result = readQueued([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
      assertEquals(result.done, true, cut);
      assertEquals(result.data, EXPECTED, cut);
      assertEquals(result.headers, ["Subject: a", "Received: x"], cut);
      assertEquals(result.next, { kind: "line", text: "QUIT" }, cut);
    }
  }
});

Deno.test("LineReader.takeData() ends at a terminator torn between reads, and not before", () => {
  const cases: [string[], string][] = [
    [["a\r\n.", "\r\n"], "a\r\n"],
    [["a\r\n.\r", "\n"], "a\r\n"],
    [["a\r\n", ".", "\r", "\n"], "a\r\n"],
    [["a\r\n..\r\n", ".\r\n"], "a\r\n.\r\n"],
    [["a\r\n.", ".\r\n.\r\n"], "a\r\n.\r\n"],
    [["a\r", "\n.\r\n"], "a\r\n"],
    [["a\r\n.", "\rb\r\n.\r\n"], "a\r\n\rb\r\n"],
    [["a\n.", "\nb\r\n.\r\n"], "a\n.\nb\r\n"],
  ];
  for (const [pieces, expected] of cases) {
    const reader = new LineReader(LIMITS);
    const sink = collect();
    reader.beginData();
    const ends = pieces.map((piece) => (reader.push(encoder.encode(piece)), reader.takeData(sink)));
    const what = JSON.stringify(pieces);
    assertEquals(ends, [...pieces.slice(1).map(() => false), true], what);
    assertEquals(sink.text(), expected, what);
  }
});

Deno.test("LineReader.takeData() keeps a long line's CR for the LF of the next read", () => {
  // The long line is passed on as it comes; its CRLF, torn after the CR, still ends it, so
  // the stuffed dot of the next line is taken off.
  const long = "z".repeat(2500);
  for (
    const pieces of [[`a\r\n${long}\r`, "\n..b\r\n.\r\n"], [`a\r\n${long}\r`, "\n", "..b\r\n.\r\n"]]
  ) {
    const reader = new LineReader(LIMITS);
    const sink = collect();
    reader.beginData();
    const ends = pieces.map((piece) => (reader.push(encoder.encode(piece)), reader.takeData(sink)));
    assertEquals(ends.at(-1), true);
    assertEquals(sink.long, true);
    assertEquals(sink.text(), `a\r\n${long}\r\n.b\r\n`);
  }
});

Deno.test("LineReader reads commands and BDAT bytes across chunks that arrived together", () => {
  const reader = new LineReader(LIMITS);
  for (const piece of ["NO", "OP\r\nBDAT 10 LAST\r\n0123", "456", "789QU", "IT\r\n"]) {
    reader.push(encoder.encode(piece));
  }
  assertEquals(reader.takeCommand(), { kind: "line", text: "NOOP" });
  assertEquals(reader.takeCommand(), { kind: "line", text: "BDAT 10 LAST" });
  const taken: string[] = [];
  assertEquals(reader.takeBytes(10, (b) => void taken.push(new TextDecoder().decode(b))), 10);
  assertEquals(taken.join(""), "0123456789");
  assertEquals(reader.takeCommand(), { kind: "line", text: "QUIT" });
  assertEquals(reader.buffered, 0);
  // A command line too long across chunks is refused once, then skipped to its end.
  for (const piece of ["x".repeat(300), "x".repeat(300), "x".repeat(300), "\r\nRSET\r\n"]) {
    reader.push(encoder.encode(piece));
  }
  assertEquals(reader.takeCommand(), { kind: "too-long" });
  assertEquals(reader.takeCommand(), { kind: "line", text: "RSET" });
});
