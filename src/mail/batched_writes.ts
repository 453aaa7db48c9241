// Writes to a pipe, gathered: the parts written to one stream writer in one task go out
// in a single write, one system call for many frames rather than one or two per frame.

/** Parts queued on one writer in this task. */
interface Batch {
  readonly parts: Uint8Array[];
  bytes: number;
  written: Promise<void>;
}

/** Batches past this size go out part by part rather than copied into one buffer. */
const COPY_LIMIT = 256 * 1024;

const batches = new WeakMap<WritableStreamDefaultWriter<Uint8Array>, Batch>();

/**
 * Queues the parts on the writer; the parts of every call made in the same task are
 * written together, in call order, once the task's synchronous code is done. Resolves
 * once they are written. The parts must not change until then.
 */
export function writeBatched(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  ...parts: Uint8Array[]
): Promise<void> {
  let batch = batches.get(writer);
  if (!batch) {
    const created: Batch = { parts: [], bytes: 0, written: Promise.resolve() };
    created.written = new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
      batches.delete(writer);
      return writeParts(writer, created);
    });
    batches.set(writer, created);
    batch = created;
  }
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    batch.parts.push(part);
    batch.bytes += part.byteLength;
  }
  return batch.written;
}

function writeParts(writer: WritableStreamDefaultWriter<Uint8Array>, batch: Batch): Promise<void> {
  const { parts, bytes } = batch;
  if (parts.length <= 1 || bytes > COPY_LIMIT) {
    return Promise.all(parts.map((part) => writer.write(part))).then(() => {});
  }
  const joined = new Uint8Array(bytes);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return writer.write(joined);
}
