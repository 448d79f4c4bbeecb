// The bridge as a part of the broker: adapts the composition root's
// PartContext to attachBridges (one line in src/parts.ts wires it in).
import type { AttachPart, PartHandle } from '../broker.ts'
import { attachBridges, type BridgesHandle } from './attach-bridges.ts'

/** The part handle, with the bridges' status for $SYS. */
export type BridgePartHandle = PartHandle & BridgesHandle

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
  // `edgemq ctl bridges` (the name for it) as well as bridges.status
  ctx.control.register('bridges', async () => handle.status())
  return { ...handle, sysValues: () => bridgeSysValues(handle.status()) }
}

/** $SYS/broker/bridges/<name>/... values: counts and state only, never credentials. */
export function bridgeSysValues (status: ReturnType<BridgesHandle['status']>): Record<string, number | string> {
  const out: Record<string, number | string> = {}
  for (const b of status) {
    const p = `bridges/${b.name}/`
    out[p + 'connected'] = b.connected ? 1 : 0
    out[p + 'queue/messages'] = b.queue.messages
    out[p + 'queue/bytes'] = b.queue.bytes
    out[p + 'queue/oldestAgeSeconds'] = b.queue.oldestAgeSeconds
    out[p + 'messages/delivered'] = b.counters.delivered
    out[p + 'messages/dropped'] = b.counters.dropped
    out[p + 'lastError'] = b.lastError ?? ''
  }
  return out
}
