// How a message body is stored: as received, deflated (`queue compression`), encrypted
// with AES-256-GCM (`queue encryption`), or both — compressed first, since ciphertext
// does not compress. The flags saved beside each body say which, so a queue written
// under one configuration is still read correctly under another.

import { deflateRawSync, inflateRawSync } from "node:zlib";

/** Bits of the `flags` column of a stored message. */
export const CONTENT_COMPRESSED = 1;
export const CONTENT_ENCRYPTED = 2;

const IV_BYTES = 12;

/** Turns bodies into their stored form and back. */
export interface ContentCodec {
  /** The flags new bodies are stored with (0: as received). */
  readonly flags: number;
  encode(content: Uint8Array): Promise<Uint8Array>;
  /** Throws when a body is encrypted and there is no key, or the key is not the one used. */
  decode(stored: Uint8Array, flags: number): Promise<Uint8Array>;
}

/** Options of {@link createContentCodec}. */
export interface CodecOptions {
  readonly compression?: boolean;
  /** The AES-256 key, 32 bytes (see {@link parseQueueKey}). */
  readonly key?: Uint8Array;
}

/** A codec for the configured compression and encryption. */
export async function createContentCodec(options: CodecOptions): Promise<ContentCodec> {
  const key = options.key
    ? await crypto.subtle.importKey("raw", toArrayBuffer(options.key), "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ])
    : undefined;
  const flags = (options.compression ? CONTENT_COMPRESSED : 0) | (key ? CONTENT_ENCRYPTED : 0);
  return {
    flags,
    async encode(content) {
      let data = content;
      if (flags & CONTENT_COMPRESSED) data = deflateRawSync(data);
      if (key) data = await encrypt(key, data);
      return data;
    },
    async decode(stored, storedFlags) {
      let data = stored;
      if (storedFlags & CONTENT_ENCRYPTED) {
        if (!key) throw new Error("The message is encrypted and no queue encryption key is set");
        data = await decrypt(key, data);
      }
      if (storedFlags & CONTENT_COMPRESSED) data = new Uint8Array(inflateRawSync(data));
      return data;
    },
  };
}

async function encrypt(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, bufferView(data)),
  );
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return out;
}

async function decrypt(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  const iv = bufferView(data.subarray(0, IV_BYTES));
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv },
        key,
        bufferView(data.subarray(IV_BYTES)),
      ),
    );
  } catch {
    // GCM authenticates: a wrong key or a damaged body fails here instead of yielding garbage.
    throw new Error("The message cannot be decrypted: wrong queue encryption key or damaged data");
  }
}

// The bytes as Web Crypto takes them: the same view when it is over an ArrayBuffer (a body
// is not copied to be sealed or opened), a copy only over a shared buffer.
function bufferView(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return data.buffer instanceof ArrayBuffer
    ? data as Uint8Array<ArrayBuffer>
    : new Uint8Array(toArrayBuffer(data));
}

function toArrayBuffer(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
