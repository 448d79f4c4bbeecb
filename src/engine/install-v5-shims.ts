// Override: aedes's handle(conn), the start of every connection, to close
// aedes 2.0.0-beta.1's MQTT 5 gaps without forking it. Each gap is one named
// override in its own file of this folder (listed in docs/engine.md), each
// measured missing in test/e2e/conformance-v5.test.ts and
// conformance-aedes-gaps.test.ts; this file only installs them:
//  - on the instance, once: trackForwarded, paceOutgoingReplay, directQueueReplay,
//    hideSysFromWildcards, keepSessionOnCleanStart, serveSharedSubscriptions;
//  - on each client, from handle(): replaceFinishedWatch, disableCounterDedupe, guardParser,
//    limitDeliveries, rewriteConnack, flushBeforeClose, sendDisconnectEarly,
//    and the end of its flow window and group memberships on close.
// What aedes does: handle(conn) builds a Client on the stream.
// What edgemq does instead: the same, then puts the per-client overrides on it.
// Canary: test/engine/v5-shim-internals.test.ts (handle returns the client).
import type { Duplex } from 'node:stream'
import type { Logger } from '../observability/logger.ts'
import { disableCounterDedupe } from './disable-counter-dedupe.ts'
import { flushBeforeClose } from './flush-before-close.ts'
import { guardParser } from './guard-parser.ts'
import { hideSysFromWildcards } from './hide-sys-from-wildcards.ts'
import { keepSessionOnCleanStart } from './keep-session-on-clean-start.ts'
import { limitDeliveries } from './limit-deliveries.ts'
import { afterAck, releaseFlow } from './outbound-flow.ts'
import { noteDroppedCopyRelease } from './drop-delivered-copies.ts'
import { paceOutgoingReplay } from './pace-outgoing-replay.ts'
import { directQueueReplay } from './direct-queue-replay.ts'
import { replaceFinishedWatch } from './replace-finished-watch.ts'
import { rewriteConnack } from './rewrite-connack.ts'
import { sendDisconnectEarly } from './send-disconnect-early.ts'
import { serveSharedSubscriptions } from './serve-shared-subscriptions.ts'
import { trackForwarded } from './track-forwarded.ts'
import { SHIM, SHIMS, shimsOf, type InstalledShims, type AedesClient, type AedesInternals, type ClientShim, type ShimmedClient, type V5ShimContext } from './v5-shim-context.ts'

/** Options of installV5Shims. */
export interface V5ShimOptions {
  logger?: Logger
  /** Most messages held per connection while its Receive Maximum is used up; past it new ones are dropped. */
  flowQueueLimit?: number
  /** Called when a connection is closed for a malformed packet (for counters). */
  onMalformed?: (info: { clientId: string | null, reason: string }) => void
  /** Whether a client may receive a message on a topic (the ACL, no side effects): shared-subscription picks skip members it refuses. */
  mayReceive?: (client: unknown, topic: string) => boolean
  /** Whether the store holds a session for a client id (absent: every Clean Start 0 resumes whatever is stored). */
  hasSession?: (clientId: string) => boolean
}

/** What the shims report. */
export interface V5Shims {
  stats: () => { sharedGroups: number, malformedClosed: number, oversizeDropped: number, flowDropped: number }
}

/** Installs the MQTT 5 shims on an aedes instance; call once, before the first connection. */
export function installV5Shims (aedes: unknown, options: V5ShimOptions = {}): V5Shims {
  const broker = aedes as AedesInternals
  const ctx: V5ShimContext = {
    broker,
    log: options.logger,
    flowQueueLimit: options.flowQueueLimit ?? 1000,
    counters: { malformedClosed: 0, oversizeDropped: 0, flowDropped: 0 },
    onMalformed: options.onMalformed,
    mayReceive: options.mayReceive ?? (() => true),
    hasSession: options.hasSession
  }
  trackForwarded(ctx)
  paceOutgoingReplay(ctx)
  directQueueReplay(ctx)
  hideSysFromWildcards(ctx)
  keepSessionOnCleanStart(ctx)
  const shares = serveSharedSubscriptions(ctx)
  ;(broker as unknown as { [SHIMS]: InstalledShims })[SHIMS] = { ctx, shares }

  const originalHandle = broker.handle
  broker.handle = function handle (conn: Duplex, req: unknown): AedesClient {
    const client = originalHandle.call(this, conn, req) as ShimmedClient
    // one shared 'close' listener instead of stream.finished()'s seven closures per connection
    replaceFinishedWatch(client as unknown as Parameters<typeof replaceFinishedWatch>[0])
    // [MQTT-4.3.2] a QoS 1 message overtaken by a later one (async store) was
    // dropped by aedes's counter dedupe: 4 of 40 in conformance runs here.
    disableCounterDedupe(client)
    const state: ClientShim = { forwarded: false }
    client[SHIM] = state
    guardParser(client)
    limitDeliveries(ctx, client, state)
    rewriteConnack(client)
    // a dropped copy of an already delivered message gives back the Receive Maximum slot its send took
    noteDroppedCopyRelease(conn, releaseDroppedCopySlot)
    conn.on('close', endClientShims) // 'close' comes once: on() spares once()'s wrapper
    flushBeforeClose(conn)
    sendDisconnectEarly(client)
    return client
  }

  return {
    stats: () => ({ sharedGroups: shares.size(), ...ctx.counters })
  }
}

/** A dropped copy's Receive Maximum slot goes back to the connection's window (shared by every connection). */
function releaseDroppedCopySlot (conn: object): void {
  const state = (conn as { client?: ShimmedClient }).client?.[SHIM]
  if (state !== undefined) afterAck(state)
}

/** At the connection's close: leaves its shared-subscription groups and drops what its window held (a shared 'close' listener). */
function endClientShims (this: Duplex & { client?: ShimmedClient }): void {
  const client = this.client
  const state = client?.[SHIM]
  if (client === undefined || state === undefined) return
  const { ctx, shares } = shimsOf(client)
  shares.leaveAll(client)
  releaseFlow(ctx, client, state)
}
