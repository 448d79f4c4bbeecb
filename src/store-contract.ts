// The store contract: what the composition root and the parts may use of the
// store, with no implementation behind it. src/store.ts opens the LevelDB
// implementation (src/persistence/level-store.ts), which implements this
// contract; both import it from here, so neither imports the other back.
import type { Level } from 'level'
import type { EdgemqConfig } from './config/types.ts'

/** A namespaced key/value store inside the one LevelDB. */
export type Sublevel = ReturnType<Level<string, Buffer>['sublevel']>

/** Persistent sessions as the store keeps them (markers in the P range). */
export interface SessionStore {
  hasSession: (clientId: string) => boolean
  /** Remembers a session that outlives its connection; `expiry` is the v5 Session Expiry Interval in s (absent: never expires). */
  rememberSession: (clientId: string, expiry?: number) => Promise<void>
  /** Records when the connection of an expiring session closed. */
  sessionClosed?: (clientId: string, at: number) => Promise<void>
  /** The expiring sessions: interval (s) and close time (ms; 0: open, or unknown after a crash). */
  sessionDeadlines?: () => Array<{ clientId: string, expiry: number, closedAt: number }>
  /** Ends a session whose expiry passed: subscriptions, marker, queue, inflight state. */
  endSession?: (clientId: string) => Promise<void>
}

/**
 * A budget several clients' offline queues add to (a user's, a group's):
 * the store keeps messages and bytes exact; the owner sets the caps (0 = none).
 */
export interface QueueBudget {
  messages: number
  bytes: number
  maxMessages: number
  maxBytes: number
  /** For log lines: "user alice", "group sensors". */
  readonly name: string
}

/** A will left by a client of an earlier run of the broker. */
export interface OrphanWill {
  clientId: string
  topic: string
  payload: unknown
  qos: number
  retain: boolean
}

/** The store the composition root uses. */
export interface Store {
  /** The object aedes takes as `persistence`. */
  aedesPersistence: unknown
  /** A namespace for a part (bans, bridge queues), values as Buffers. */
  sublevel: (name: string) => Sublevel
  /** Whether writes are synced before acknowledgements ('always'), periodically, or never. */
  syncMode: EdgemqConfig['persistence']['sync']
  /** Records an incoming QoS 1/2 message durably before it is acknowledged. */
  journalIncoming: (clientId: string, packet: unknown) => Promise<void>
  /**
   * journalIncoming in two steps, so that a QoS 1 message can be routed while
   * its entry is on its way to disk and only its acknowledgement waits:
   * `queued` undefined (or once it resolves) means the entry is linked to the
   * packet and its write queued ahead of anything the routing writes;
   * `landed` means it is as durable as persistence.sync promises. Absent:
   * the message is routed only after journalIncoming resolves.
   */
  beginJournal?: (clientId: string, packet: unknown) => { queued: Promise<void> | undefined, landed: Promise<void> }
  /**
   * Whether an accepted QoS 1/2 message needs the journal before its
   * acknowledgement (QoS 2, retained, or a persistent session subscribes to
   * its topic). Absent: always. A message only clean sessions receive is lost
   * with them in a crash anyway, so journaling it protects nothing.
   */
  needsJournal?: (packet: { topic: string, qos: number, retain: boolean }) => boolean
  /**
   * Whether an accepted QoS 1 message that needs the journal can instead be
   * stored before its PUBACK (its persistent subscribers are all away: the
   * PUBACK waits for the routing, which ends once the queue write has landed,
   * src/engine/route-qos1-before-ack.ts). Absent: never.
   */
  ackAfterStore?: (packet: { topic: string, qos: number, retain: boolean }) => boolean
  /**
   * Whether a QoS 1/2 message being routed has anything for the offline
   * queues: a persistent session subscribes to its topic at QoS 1/2, or it
   * has a journal entry to end. Absent: always (aedes's offline step runs).
   */
  routesOffline?: (packet: unknown) => boolean
  /**
   * The persistent subscriptions matching a topic, synchronously (what
   * subscriptionsByTopic resolves to): lets the engine run the offline-queue
   * step itself, without aedes's series. Read it, never change or keep it.
   */
  offlineSubscriptions?: (topic: string) => readonly unknown[]
  /**
   * Whether the offline queue of one of the message's persistent subscribers
   * is full (limits.queueFullPolicy refuse-new decides before the PUBACK). Absent: never.
   */
  queueFull?: (packet: { topic: string, payload: unknown }) => boolean
  /**
   * Tells the store how to ask whether a client's connection is open now
   * (registered with the engine and its socket not closed): a subscriber whose
   * connection is closing is away for queueFull's decision, though the engine
   * still lists it until its close has run. Absent: registered counts.
   */
  setConnectionCheck?: (isOpen: (clientId: string) => boolean) => void
  /**
   * Sets who decides on the wills a previous run left (clients gone in a crash
   * or kill -9, published by aedes's will sweep after the start): a will the
   * check refuses is deleted, never published. Absent: all are published.
   */
  setOrphanWillCheck?: (check: (will: OrphanWill) => boolean | Promise<boolean>) => void
  /** Marks a journaled message as routed and persisted; undefined when the message has no journal entry (nothing to wait for). */
  journalDone: (clientId: string, packet: unknown) => Promise<void> | undefined
  /** Re-publishes journaled messages a crash left behind. */
  replayJournal: (publish: (packet: unknown) => Promise<void>) => Promise<void>
  /** Removes an incoming QoS 2 message that waited too long for its PUBREL (limits.qos2Expiry). */
  dropUnreleasedQos2: (clientId: string, messageId: number) => Promise<void>
  /** The retained messages in the store whose topics match `filter`. */
  retainedMessages: (filter: string) => AsyncIterable<{ topic: string, payload?: Buffer }>
  /** Persistent sessions (kept without subscriptions too [MQTT-3.2.2-2], src/engine/connack-session-present.ts); absent: only aedes's view (its subscriptions). */
  sessions?: SessionStore
  stats: () => Record<string, number>
  /**
   * Counts what the persistent sessions have queued, once, after the broker is
   * ready (a restart does not wait for it); from then on stats() has
   * persistenceQueuedMessages / persistenceQueuedBytes. Absent: never counted.
   */
  countQueued?: () => Promise<void>
  /**
   * Lets the offline queues of a user's (group's) client ids add to a shared
   * budget whose caps bound their sum (limits.maxQueuedMessagesPerUser ...):
   * `budgetsOf` is asked when a client's queue figures are loaded; call
   * `reshare` when a reload changed who belongs where. Absent: no budgets.
   */
  queueBudgets?: { set: (budgetsOf: (clientId: string) => readonly QueueBudget[]) => void, reshare: () => void }
  /** Applies a reloaded config's offline-queue bounds (limits.maxQueuedMessages, maxQueuedBytes). */
  setQueueLimits: (config: EdgemqConfig) => void
  close: () => Promise<void>
}
