// Replaced by esbuild at build time (build.mjs `define`); undefined when run from source.
declare const EDGEMQ_VERSION: string
declare const EDGEMQ_COMMIT: string

// prom-client's own files, imported one by one (src/observability/prom-client-core.ts types them).
declare module 'prom-client/lib/registry.js'
declare module 'prom-client/lib/counter.js'
declare module 'prom-client/lib/gauge.js'
