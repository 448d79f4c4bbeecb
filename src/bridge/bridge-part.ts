// The bridge as a part of the broker: adapts the composition root's
// PartContext to attachBridges (one line in src/parts.ts wires it in).
import type { AttachPart, PartHandle } from '../broker.ts'
import { attachBridges, type BridgesHandle } from './attach-bridges.ts'
import { bridgeSysMessages } from './bridge-sys-topics.ts'
import { registerBridgeMetrics } from './bridge-metrics.ts'

/** The part handle, with the bridges' status for $SYS. */
export type BridgePartHandle = PartHandle & BridgesHandle

const SYS_PREFIX = '$SYS/broker/'

/** Attaches the bridges to a started broker core; the queue lives in the `bridge` sublevel of the store. */
export const attachBridgesPart: AttachPart = async (ctx): Promise<BridgePartHandle> => {
  const handle = await attachBridges({
    config: ctx.config,
    hooks: ctx.hooks,
    local: ctx.local,
    store: ctx.store.sublevel('bridge'),
    logger: ctx.logger,
    control: ctx.control
  })
  if (ctx.observe !== undefined) registerBridgeMetrics(ctx.observe, () => handle.status())
  return {
    ...handle,
    // the core publishes these under $SYS/broker/ every sys.interval
    sysValues: () => Object.fromEntries(bridgeSysMessages(handle.status()).map((m) => [m.topic.slice(SYS_PREFIX.length), m.payload]))
  }
}
