// Override (at build time): the `debug` loggers of mqtt-packet's parser and writer.
// What mqtt-packet (9.0.2) does: `require('debug')('mqtt-packet:parser')` (and
//   ':writeToStream') once, then calls that logger ~10 times per PUBLISH it
//   parses. debug 4's logger is `function debug (...args)`: even disabled,
//   every call builds its rest-argument array and reads the `enabled` getter.
//   In a fan-in QoS 1 profile of the bundle these calls were 13.7 % of all
//   bytes allocated (the largest single source) and ~2 % of the CPU, before
//   the garbage collection they cause.
// What edgemq does instead: the bundle (build.mjs) resolves mqtt-packet's
//   `debug` to the shim below, which hands out the real logger when its
//   namespace is enabled when the module loads (DEBUG=mqtt-packet:* still
//   works) and otherwise one shared function that does nothing. Only
//   mqtt-packet is affected; every other package keeps the real `debug`.
//   Runs from src/ (tests under tsx) keep the real logger: same behaviour,
//   only slower.
// Canary: test/engine/silence-packet-debug.test.ts (mqtt-packet still takes
//   its loggers from `require('debug')(namespace)`, a bundle built with this
//   plugin uses the shim, parses the same, and DEBUG still prints).

const SHIM_NAMESPACE = 'edgemq-packet-debug'

// CommonJS, as mqtt-packet requires it: `require('debug')` must be the factory itself.
const SHIM_SOURCE = `
const createDebug = require('debug')
function off () {}
off.enabled = false
off.namespace = ''
off.extend = () => off
off.log = off
module.exports = function createPacketDebug (namespace) {
  const real = createDebug(namespace)
  return real.enabled ? real : off
}
`

/** The esbuild plugin: mqtt-packet's `require('debug')` gets the shim above. */
export const silencePacketDebug = {
  name: 'silence-packet-debug',
  setup (build) {
    build.onResolve({ filter: /^debug$/ }, (args) => {
      if (!/[\\/]node_modules[\\/]mqtt-packet[\\/]/.test(args.importer)) return undefined
      // resolveDir: the shim's own require('debug') resolves from mqtt-packet's folder, to the real package
      return { path: 'mqtt-packet-debug', namespace: SHIM_NAMESPACE, pluginData: { resolveDir: args.resolveDir } }
    })
    build.onLoad({ filter: /.*/, namespace: SHIM_NAMESPACE }, (args) => ({
      contents: SHIM_SOURCE,
      loader: 'js',
      resolveDir: args.pluginData.resolveDir
    }))
  }
}
