// Node built-in modules that only some configurations use are loaded when
// first needed, not at start. Each one a process loads touches more of the
// node binary (the module's source and code cache live in its read-only data)
// and builds its module graph on the heap: http, https, tls, readline and
// child_process together were ~1 MiB of an idle broker's RSS that the default
// configuration (one plain TCP listener, no bridge) never uses (issue 10,
// /proc/PID/status of a bare `node` requiring them). Loading is synchronous
// (a built-in is compiled from the binary, no I/O), so callers stay as they were.
import { createRequire } from 'node:module'

const load = createRequire(import.meta.url)

/** The built-in module `name` ('node:tls', ...), loaded on the first call. */
export function loadBuiltin<T> (name: `node:${string}`): T {
  return load(name) as T
}
