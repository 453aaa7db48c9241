// verifyProof(): the owner of a proof that holds the challenge is the peer; a hard link, a
// symbolic link, or a file without the challenge proves nothing, and the proof is removed.

import { assertEquals, assertRejects } from "../../test/assert.ts";
import { proofName, verifyProof, writeProof } from "./peer_identity.ts";

const CHALLENGE = "0123456789abcdef0123456789abcdef";

Deno.test("verifyProof() gives the proof's owner and removes the proof", async () => {
  const dir = await Deno.makeTempDir();
  const path = await writeProof(dir, CHALLENGE);
  assertEquals(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o640);
  assertEquals(await verifyProof(dir, CHALLENGE), Deno.uid());
  assertEquals([...Deno.readDirSync(dir)].length, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("verifyProof() refuses a hard link, a symbolic link and a file without the challenge", async () => {
  const dir = await Deno.makeTempDir();
  const proof = `${dir}/${proofName(CHALLENGE)}`;
  await Deno.writeTextFile(`${dir}/theirs`, CHALLENGE);
  await Deno.link(`${dir}/theirs`, proof);
  await assertRejects(() => verifyProof(dir, CHALLENGE), Error, "has other links");
  await Deno.symlink(`${dir}/theirs`, proof);
  await assertRejects(() => verifyProof(dir, CHALLENGE), Error, "not a regular file");
  await Deno.writeTextFile(proof, "another challenge");
  await assertRejects(() => verifyProof(dir, CHALLENGE), Error, "does not hold the challenge");
  await assertRejects(() => verifyProof(dir, CHALLENGE), Error, "no proof of identity");
  await assertRejects(() => writeProof(dir, "../../etc/x"), Error, "malformed");
  await Deno.remove(dir, { recursive: true });
});
