// Public face of the compatibility front-ends (makemap, newaliases).
export { DEFAULT_ALIASES_PATH, parseMakemapInput, runMakemap, runNewaliases } from "./makemap.ts";
export type { MakemapOptions, MakemapType } from "./makemap.ts";
