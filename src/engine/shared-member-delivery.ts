// Override: how one shared-subscription message reaches one member when aedes
// refuses the hand-off.
//
// What aedes does (2.0.0-beta.1, lib/client.js): it has no shared
// subscriptions (it refuses $share with 0x9E), so edgemq's shim
// (src/protocol/aedes-v5-shims.ts) gives each message of a share group to ONE
// member through that member's `client.deliverQoS` / `client.deliver0`.
// Inside those, aedes calls `broker.authorizeForward` synchronously
// (getToForwardPacket) and, when it answers null (edgemq's deliver hooks:
// the ACL's read check), drops the packet silently: no error, nothing
// written, the callback runs on the next turn.
//
// What that did: a round robin that picked a member who may not read the
// topic lost the message for the whole group. Measured (issue 14): an
// operator and a sensor on $share/dash/#, the sensor granted because `#`
// overlaps its own topics; of 10 acknowledged QoS 1 messages on dash/...,
// the operator got 5, the sensor 0, and 5 were gone.
//
// What edgemq does instead: (1) the pick skips members the ACL would refuse
// for this topic (a check without side effects, done by the caller's
// `pick`), and (2) a refusal that still happens in the hand-off (another
// deliver hook) is seen through a mark the authorizeForward wrapper puts on
// the packet, and the message is offered to the next member. Only when no
// member may take it is it dropped: then nobody in the group may read it.
// Guarded by test/engine/shared-member-delivery.test.ts against the pinned aedes.

/** Set on a packet by the authorizeForward wrapper when aedes was told not to forward it. */
export const FORWARD_REFUSED = Symbol('edgemq.forwardRefused')

/** Records authorizeForward's answer on the packet aedes asked about (call from the wrapper). */
export function markForwardResult (packet: object, result: unknown): void {
  if (result === null || result === undefined) (packet as { [FORWARD_REFUSED]?: boolean })[FORWARD_REFUSED] = true
}

/**
 * Gives a message to one member: `pick` returns the next member in turn that
 * has not been tried (undefined when none is left), `handOff` passes the
 * member's copy of the message to aedes and returns that copy. `done` runs
 * once, after the member that took it has been written to (or at once when
 * nobody could take it).
 */
export function deliverToOneMember<M> (pick: (tried: ReadonlySet<M>) => M | undefined, handOff: (member: M, written: () => void) => object, done: () => void): void {
  const tried = new Set<M>()
  for (;;) {
    const member = pick(tried)
    if (member === undefined) { done(); return }
    tried.add(member)
    let refused = false
    // aedes runs `written` on a later turn for a refused packet too; by then `refused` is known.
    const copy = handOff(member, () => { if (!refused) done() })
    if ((copy as { [FORWARD_REFUSED]?: boolean })[FORWARD_REFUSED] !== true) return
    refused = true
  }
}
