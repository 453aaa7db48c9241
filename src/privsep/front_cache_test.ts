// A front cache made anew starts from the parent's runtime: its transpiled modules linked,
// its code cache copied and given to the front's account.

import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertTrue } from "../../test/assert.ts";
import { prepareFrontCache } from "./front_cache.ts";

const FRONT = { uid: 65534, gid: 65534 };
const asRoot = Deno.uid() === 0;
if (!asRoot) console.log("front_cache_test: skipped: chown to another account needs root");

function parentDenoDir(): string {
  return Deno.env.get("DENO_DIR") ||
    `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME") ?? "/root"}/.cache`}/deno`;
}

Deno.test({
  name: "a front cache made anew has the parent's transpiled modules and code cache, the front's",
  ignore: !asRoot,
  async fn() {
    const queue = await Deno.makeTempDir({ prefix: "front-cache-test-" });
    try {
      const dir = await prepareFrontCache(queue, FRONT);
      const root = parentDenoDir();
      // This very module, as the runtime running this test transpiled it.
      const self = new URL("./front_cache.ts", import.meta.url).pathname;
      const transpiled = `gen/file${self}.js`;
      const parentHas = await Deno.lstat(`${root}/${transpiled}`).then(() => true, () => false);
      if (parentHas) {
        const linked = await Deno.lstat(`${dir}/${transpiled}`);
        assertEquals(linked.ino, (await Deno.lstat(`${root}/${transpiled}`)).ino, "a hard link");
      } else console.log(`front_cache_test: ${root} holds no ${transpiled}: not compared`);
      const copy = await Deno.lstat(`${dir}/v8_code_cache_v2`);
      assertEquals([copy.isFile, copy.uid], [true, FRONT.uid]);
      const db = new DatabaseSync(`${dir}/v8_code_cache_v2`, { readOnly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
        assertTrue(tables.length > 0, "the copy is a database with the runtime's tables");
      } finally {
        db.close();
      }
    } finally {
      await Deno.remove(queue, { recursive: true });
    }
  },
});
