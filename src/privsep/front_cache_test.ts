// A front cache made anew starts from the parent's runtime: its transpiled modules linked,
// its code cache copied and given to the front's account; an empty one is not copied.

import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "../../test/assert.ts";
import { prepareFrontCache } from "./front_cache.ts";

const FRONT = { uid: 65534, gid: 65534 };
const asRoot = Deno.uid() === 0;
if (!asRoot) console.log("front_cache_test: skipped: chown to another account needs root");
const CHECKOUT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const GEN = `gen/file${CHECKOUT}/src/privsep/front_cache.ts.js`;

/** A runtime cache as Deno leaves it: one transpiled module and a code cache database. */
async function runtimeCache(codeRows: number): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "front-cache-root-" });
  await Deno.mkdir(`${root}/gen/file${CHECKOUT}/src/privsep`, { recursive: true });
  await Deno.writeTextFile(`${root}/${GEN}`, "// transpiled\n");
  const db = new DatabaseSync(`${root}/v8_code_cache_v2`);
  db.exec("PRAGMA journal_mode = WAL");
  if (codeRows > 0) {
    db.exec("CREATE TABLE codecache (key TEXT PRIMARY KEY, data BLOB)");
    const insert = db.prepare("INSERT INTO codecache VALUES (?, ?)");
    for (let i = 0; i < codeRows; i++) insert.run(`m${i}`, new Uint8Array(100));
  }
  db.close();
  return root;
}

Deno.test({
  name: "a front cache made anew has the parent's transpiled modules and code cache, the front's",
  ignore: !asRoot,
  async fn() {
    const queue = await Deno.makeTempDir({ prefix: "front-cache-test-" });
    const root = await runtimeCache(50);
    try {
      const dir = await prepareFrontCache(queue, FRONT, root);
      assertEquals(
        (await Deno.lstat(`${dir}/${GEN}`)).ino,
        (await Deno.lstat(`${root}/${GEN}`)).ino,
      );
      const copy = await Deno.lstat(`${dir}/v8_code_cache_v2`);
      assertEquals([copy.isFile, copy.uid], [true, FRONT.uid]);
      const db = new DatabaseSync(`${dir}/v8_code_cache_v2`, { readOnly: true });
      try {
        assertEquals(db.prepare("SELECT count(*) AS n FROM codecache").get()?.n, 50);
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(queue, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "a code cache the runtime is remaking (no tables yet) is not copied",
  ignore: !asRoot,
  async fn() {
    const queue = await Deno.makeTempDir({ prefix: "front-cache-test-" });
    const root = await runtimeCache(0);
    try {
      const dir = await prepareFrontCache(queue, FRONT, root);
      const left = await Deno.lstat(`${dir}/v8_code_cache_v2`).then(() => true, () => false);
      assertEquals(left, false, "no empty copy in the front's cache");
    } finally {
      await Deno.remove(queue, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});
