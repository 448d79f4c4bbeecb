// Which queued messages to drop when a client's queue is full: QoS 0 first
// (the sender accepted that it may be lost), oldest first, then the oldest
// QoS 1/2. Pure, so the persistence part (offline queues) and the limits part
// (the online queue of a slow consumer) decide the same way.

/** One queued message as the policy sees it. */
export interface QueuedMessage {
  qos: number
  bytes: number
}

/** Caps on one client's queue; 0 = no cap. */
export interface QueueLimits {
  maxMessages: number
  maxBytes: number
}

/** What to drop so the incoming message fits. */
export interface DropPlan {
  /** Indices into the queue (oldest = 0) to drop, in ascending order. */
  drop: number[]
  /** false: the incoming message itself is dropped (it was the best candidate, or it alone exceeds maxBytes). */
  acceptIncoming: boolean
  /** Of the dropped (including a refused incoming one), how many were QoS 0 and how many QoS 1/2: the counters. */
  droppedQos0: number
  droppedQos12: number
}

/** Plans the drops that make room for `incoming` in `queue` (oldest first) under `limits`. */
export function planQueueDrops (queue: readonly QueuedMessage[], incoming: QueuedMessage, limits: QueueLimits): DropPlan {
  const plan: DropPlan = { drop: [], acceptIncoming: true, droppedQos0: 0, droppedQos12: 0 }
  const count = (m: QueuedMessage): void => { if (m.qos === 0) plan.droppedQos0++; else plan.droppedQos12++ }
  if (limits.maxBytes > 0 && incoming.bytes > limits.maxBytes) {
    plan.acceptIncoming = false
    count(incoming)
    return plan
  }
  let messages = queue.length + 1
  let bytes = incoming.bytes
  for (const m of queue) bytes += m.bytes
  const fits = (): boolean => (limits.maxMessages <= 0 || messages <= limits.maxMessages) && (limits.maxBytes <= 0 || bytes <= limits.maxBytes)
  if (fits()) return plan
  // Candidates: QoS 0 before QoS 1/2, older before newer; the incoming message is the newest.
  const order: number[] = []
  for (let i = 0; i < queue.length; i++) if (queue[i].qos === 0) order.push(i)
  if (incoming.qos === 0) order.push(-1)
  for (let i = 0; i < queue.length; i++) if (queue[i].qos !== 0) order.push(i)
  if (incoming.qos !== 0) order.push(-1)
  for (const i of order) {
    if (fits()) break
    const m = i === -1 ? incoming : queue[i]
    messages--
    bytes -= m.bytes
    count(m)
    if (i === -1) {
      plan.acceptIncoming = false
      break // nothing more needs to go: the queue already fitted before the incoming message
    }
    plan.drop.push(i)
  }
  plan.drop.sort((a, b) => a - b)
  return plan
}
