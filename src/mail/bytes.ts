// Joining byte chunks and finding a byte in them: message content arrives and is built in
// pieces.

/**
 * The chunks one after another in a new array (a single chunk is copied too, so the result
 * never aliases an input).
 *
 * @example
 * ```ts
 * import { concatBytes } from "./bytes.ts";
 * concatBytes([new Uint8Array([1, 2]), new Uint8Array([3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * Where `byte` first is in `bytes` from `from` on, or -1. Uint8Array's own search, a
 * native loop, also for a Buffer (whose indexOf with a Buffer needle searches in script).
 *
 * @example
 * ```ts
 * import { indexOfByte } from "./bytes.ts";
 * indexOfByte(new Uint8Array([1, 10, 2, 10]), 10, 2); // 3
 * ```
 */
export function indexOfByte(bytes: Uint8Array, byte: number, from = 0): number {
  return Uint8Array.prototype.indexOf.call(bytes, byte, from);
}
