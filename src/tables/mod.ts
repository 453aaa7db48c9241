// Public face of the tables box.
export type { Table, TableService } from "./table.ts";
export { StaticTable } from "./static.ts";
export { loadTableFile, parseTableFile } from "./file.ts";
export { createUserLookup, parsePasswd } from "./getpwnam.ts";
export type { SystemUser } from "./getpwnam.ts";
export { blockContains, parseIp, parseNetBlock } from "./netaddr.ts";
export type { NetBlock } from "./netaddr.ts";
export { BACKENDS, openTable, openTables, resolvePath } from "./registry.ts";
export type { OpenTablesOptions } from "./registry.ts";
