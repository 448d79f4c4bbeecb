// Override (at build time): the pace of aedes's queue replay on reconnect.
// What aedes 2.0.0-beta.1 does: emptyQueue (lib/handlers/connect.js) pipes a
//   persistent session's stored queue through a Transform that writes one
//   message at a time, and write() (lib/write.js) calls its callback on
//   setImmediate: the next queued message is written one event-loop
//   iteration later. Every replayed message costs a loop iteration and a
//   write(2) of its own (the encoder keeps a socket corked for one turn,
//   src/engine/install-publish-encoder.ts). In issue 11's drain (500
//   sessions x 100 QoS 1 after a restart) that was ~40 % of the broker's CPU:
//   4.1-4.4 s of CPU for the drain, 2.4-2.8 s with this (shared machine).
// What edgemq does instead: the replay's write callbacks are marked
//   (`edgemqSoon`), and write() calls a marked callback on process.nextTick:
//   the replay goes on in the same turn until the client's Receive Maximum
//   window is full (src/engine/outbound-flow.ts replaySlot), the store reads
//   its next batch (a LevelDB nextv: at most 256 records, ~16 KiB), or the
//   socket's buffer passes its high-water mark (write() returns false and
//   aedes's own waitForDrain takes over, unchanged); what one client gets in
//   that turn leaves in one writev. So one client holds the loop for at most
//   one store batch. Every other write (live deliveries, acknowledgements,
//   CONNACK) keeps aedes's setImmediate.
//   Runs from src/ (tests under tsx) keep aedes's pace: same packets in the
//   same order, only slower.
// Canary: test/engine/hasten-queue-replay.test.ts (both anchors are in the
//   pinned aedes, a bundle built with the plugin carries both changes, and a
//   missing anchor fails the build).
import { readFile } from 'node:fs/promises'

/** The text changes, per aedes file: each anchor must occur exactly once. */
export const REPLAY_PATCHES = [
  {
    file: /[\\/]node_modules[\\/]aedes[\\/]lib[\\/]handlers[\\/]connect\.js$/,
    anchor: 'packet.writeCallback = (error, _client) => next(error)',
    replacement: 'packet.writeCallback = (error, _client) => next(error)\n      packet.writeCallback.edgemqSoon = true'
  },
  {
    file: /[\\/]node_modules[\\/]aedes[\\/]lib[\\/]write\.js$/,
    anchor: 'setImmediate(done, error, client)',
    replacement: 'if (done.edgemqSoon === true) process.nextTick(done, error, client)\n  else setImmediate(done, error, client)'
  }
]

/** Applies the patch for `path` to `source`; throws when its anchor is not there exactly once. */
export function patchReplaySource (path, source) {
  const patch = REPLAY_PATCHES.find((p) => p.file.test(path))
  if (patch === undefined) return source
  const at = source.indexOf(patch.anchor)
  if (at < 0 || source.indexOf(patch.anchor, at + 1) >= 0) {
    throw new Error(`hasten-queue-replay: "${patch.anchor}" is not in ${path} exactly once; the pinned aedes changed: review src/engine/hasten-queue-replay.mjs`)
  }
  return source.slice(0, at) + patch.replacement + source.slice(at + patch.anchor.length)
}

/** The esbuild plugin: aedes's connect.js and write.js with the changes above. */
export const hastenQueueReplay = {
  name: 'hasten-queue-replay',
  setup (build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]aedes[\\/]lib[\\/](handlers[\\/]connect|write)\.js$/ }, async (args) => ({
      contents: patchReplaySource(args.path, await readFile(args.path, 'utf8')),
      loader: 'js'
    }))
  }
}
