// The bridge as a part of the broker: adapts the composition root's
// PartContext to attachBridges (one line in src/parts.ts wires it in).
import type { AttachPart, PartHandle } from '../broker.ts'
import { attachBridges, type BridgesHandle } from './attach-bridges.ts'

/** The part handle, with the bridges' status for $SYS. */
export type BridgePartHandle = PartHandle & BridgesHandle

/** Attaches the bridges to a started broker core; the queue lives in the `bridge` sublevel of the store. */
export const attachBridgesPart: AttachPart = async (ctx): Promise<BridgePartHandle> => {
  return await attachBridges({
    config: ctx.config,
    hooks: ctx.hooks,
    local: ctx.local,
    store: ctx.store.sublevel('bridge'),
    logger: ctx.logger,
    control: ctx.control
  })
}
