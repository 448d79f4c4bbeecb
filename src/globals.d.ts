// Replaced by esbuild at build time (build.mjs `define`); undefined when run from source.
declare const EDGEMQ_VERSION: string
declare const EDGEMQ_COMMIT: string
