// Binds a client id to the user who first used it, so another user (or an
// anonymous client) cannot connect with it: MQTT's session takeover would
// otherwise let anyone kick a device off and inherit its session and queued
// messages (failure-modes row 7). The binding of a persistent session is kept
// in LevelDB so it outlives a restart, like the session it protects. A
// clean-session connect writes nothing (issue 16: a reconnect storm, and
// clients with a random id per connection, cost one LevelDB write each and
// grew the bindings without bound): its binding is held in memory, bounded,
// least recently used first, and is written the first time that id is used
// for a persistent session.

/** The LevelDB operations bindings need. */
export interface BindingStore {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: (options: { gte: string, lt: string }) => AsyncIterable<[unknown, unknown]>
}

const PREFIX = 'cid!'

/** Most clean-session bindings held in memory; the least recently used go first. */
export const MAX_TRANSIENT_BINDINGS = 20_000

/** client id → owner user name. Anonymous clients bind nothing (they have no identity to protect). */
export class ClientIdBindings {
  private readonly owners = new Map<string, string>()
  /** Bindings of clean sessions: memory only, bounded (Map order is the LRU order). */
  private readonly transient = new Map<string, string>()

  constructor (private readonly store?: BindingStore) {}

  /** Loads stored bindings. */
  async load (): Promise<void> {
    if (this.store === undefined) return
    for await (const [k, v] of this.store.iterator({ gte: PREFIX, lt: PREFIX + '\xff' })) {
      this.owners.set(text(k).slice(PREFIX.length), text(v))
    }
  }

  /** The user a client id is bound to, if any. */
  ownerOf (clientId: string): string | undefined {
    return this.owners.get(clientId) ?? this.transient.get(clientId)
  }

  /** The owner of a client id when it is someone other than `username`, else undefined. */
  conflict (clientId: string, username: string | undefined): string | undefined {
    const owner = this.owners.get(clientId) ?? this.transient.get(clientId)
    return owner === undefined || owner === username ? undefined : owner
  }

  /**
   * Records that `username` used `clientId` (first use wins). Only a
   * persistent session's binding is written to the store; a clean session's
   * is held in memory.
   */
  bind (clientId: string, username: string | undefined, persistent = true): void {
    if (username === undefined || this.owners.has(clientId)) return
    if (!persistent) {
      this.transient.delete(clientId) // refreshed: most recently used goes last
      if (this.transient.size >= MAX_TRANSIENT_BINDINGS) this.transient.delete(this.transient.keys().next().value as string)
      this.transient.set(clientId, username)
      return
    }
    this.transient.delete(clientId)
    this.owners.set(clientId, username)
    this.store?.put(PREFIX + clientId, username).catch(() => { /* a lost binding only weakens, never blocks */ })
  }

  /** Releases a client id (a device handed to another user); false when it was not bound. */
  async unbind (clientId: string): Promise<boolean> {
    const held = this.transient.delete(clientId)
    const had = this.owners.delete(clientId)
    if (had) await this.store?.del(PREFIX + clientId)
    return had || held
  }

  /** Bound ids and owners (for `edgemq ctl clients.bindings`). */
  list (): Array<{ clientId: string, user: string }> {
    return [...this.owners, ...this.transient].map(([clientId, user]) => ({ clientId, user }))
  }
}

function text (v: unknown): string {
  return typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8')
}
