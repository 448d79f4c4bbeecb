// Binds a client id to the user who first used it, so another user (or an
// anonymous client) cannot connect with it: MQTT's session takeover would
// otherwise let anyone kick a device off and inherit its session and queued
// messages (failure-modes row 7). Kept in LevelDB so the binding outlives a
// restart, like the persistent session it protects.

/** The LevelDB operations bindings need. */
export interface BindingStore {
  put: (key: string, value: string) => Promise<void>
  del: (key: string) => Promise<void>
  iterator: (options: { gte: string, lt: string }) => AsyncIterable<[unknown, unknown]>
}

const PREFIX = 'cid!'

/** client id → owner user name. Anonymous clients bind nothing (they have no identity to protect). */
export class ClientIdBindings {
  private readonly owners = new Map<string, string>()

  constructor (private readonly store?: BindingStore) {}

  /** Loads stored bindings. */
  async load (): Promise<void> {
    if (this.store === undefined) return
    for await (const [k, v] of this.store.iterator({ gte: PREFIX, lt: PREFIX + '\xff' })) {
      this.owners.set(text(k).slice(PREFIX.length), text(v))
    }
  }

  /** The owner of a client id when it is someone other than `username`, else undefined. */
  conflict (clientId: string, username: string | undefined): string | undefined {
    const owner = this.owners.get(clientId)
    return owner === undefined || owner === username ? undefined : owner
  }

  /** Records that `username` used `clientId` (first use wins). */
  bind (clientId: string, username: string | undefined): void {
    if (username === undefined || this.owners.has(clientId)) return
    this.owners.set(clientId, username)
    this.store?.put(PREFIX + clientId, username).catch(() => { /* a lost binding only weakens, never blocks */ })
  }

  /** Releases a client id (a device handed to another user); false when it was not bound. */
  async unbind (clientId: string): Promise<boolean> {
    const had = this.owners.delete(clientId)
    await this.store?.del(PREFIX + clientId)
    return had
  }

  /** Bound ids and owners (for `edgemq ctl clients.bindings`). */
  list (): Array<{ clientId: string, user: string }> {
    return [...this.owners].map(([clientId, user]) => ({ clientId, user }))
  }
}

function text (v: unknown): string {
  return typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8')
}
