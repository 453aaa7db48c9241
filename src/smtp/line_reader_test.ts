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
