// The verification slots and the room where logins wait for one. Hashing is
// the costly part of a login (scrypt: 16 MiB and tens of ms); unbounded, a
// burst would fill the threadpool (which LevelDB shares) and the memory, so a
// few run at once. Before this room, logins beyond a small queue (and the third
// one from any single address) were refused at once with "server unavailable";
// the devices backed off and retried, and a reconnect storm of 500 devices took
// 15 s and 6,513 refusals (issue 16). Now they wait, bounded in number and in
// time, and are refused only when the room is full.
//
// Fairness (issue 14: 30 addresses x 2 wrong logins refused a real user):
//  - logins are served round-robin across addresses, so one address with many
//    waiting logins (devices behind one NAT, or an attacker) does not delay
//    another address by more than one turn;
//  - trusted logins (a verified client certificate, an address with a recent
//    success, an address with no recent failure) are served first, known ones
//    (certificate, recent success) before merely unblemished ones, and
//    untrusted ones may hold at most `slots - reservedSlots` slots, so wrong
//    logins from many addresses cannot take every slot;
//  - trust is checked again when a waiter's turn comes: an address that failed
//    meanwhile (its first wrong password was verified while its other logins
//    waited) goes to the untrusted queue;
//  - a full room makes room for a trusted login by turning away an untrusted
//    waiter, and for a login from a small address by turning away the newest
//    waiter of the address holding the most places.
// An address may hold at most `perKeyCap` places (its per-IP connection cap).

/** Why a login was turned away. */
export class WaitingRoomRefusal extends Error {
  constructor (readonly why: 'room-full' | 'per-ip' | 'timeout' | 'abandoned') { super(why) }
}

/** Settings of the room. */
export interface WaitingRoomOptions {
  /** Verifications running at once. */
  slots: number
  /** Slots only trusted logins may use (untrusted ones never hold more than slots - reservedSlots). */
  reservedSlots: number
  /** Logins that may wait at once. */
  size: number
  /** Longest wait for a slot, ms; then the login is refused. */
  maxWait: number
}

/** Who is asking: the address (fairness key), its trust, its per-address cap. */
export interface Ticket {
  key: string
  trusted: boolean
  /** Known good (a verified certificate, a recent success): served before other trusted logins. */
  known?: boolean
  /** Asked when a trusted waiter's turn comes: true (its address failed meanwhile) moves it to the untrusted queue. */
  demoted?: () => boolean
  /** Most places (waiting + running) this key may hold; undefined = no cap of its own. */
  perKeyCap?: number
  /**
   * Asked when a waiter's turn comes: false (the address was banned meanwhile,
   * the client hung up) turns it away without running the job, so a flood that
   * got banned while waiting costs no further hash.
   */
  stillWanted?: () => boolean
}

interface Waiter {
  /** Replaced (not mutated) when the waiter is demoted. */
  ticket: Ticket
  start: () => void
  refuse: (why: WaitingRoomRefusal) => void
  timer: ReturnType<typeof setTimeout> | undefined
  /** Arrival order: among equally large addresses the latest arrival gives way. */
  seq: number
}

/** Per-key FIFOs served round-robin: Map order is the turn order. */
class RoundRobin {
  private readonly queues = new Map<string, Waiter[]>()
  count = 0

  push (w: Waiter): void {
    const q = this.queues.get(w.ticket.key)
    if (q === undefined) this.queues.set(w.ticket.key, [w])
    else q.push(w)
    this.count++
  }

  /** The next waiter: first of the key whose turn it is; that key goes to the back. */
  shift (): Waiter | undefined {
    for (const [key, q] of this.queues) {
      const w = q.shift()
      this.queues.delete(key)
      if (q.length > 0) this.queues.set(key, q)
      if (w !== undefined) { this.count--; return w }
    }
    return undefined
  }

  remove (w: Waiter): boolean {
    const q = this.queues.get(w.ticket.key)
    const i = q?.indexOf(w) ?? -1
    if (q === undefined || i < 0) return false
    q.splice(i, 1)
    if (q.length === 0) this.queues.delete(w.ticket.key)
    this.count--
    return true
  }

  /** The newest waiter of the key with the most waiters (the one to turn away when full). */
  newestOfLargest (): { waiter: Waiter, held: number } | undefined {
    let best: Waiter[] | undefined
    for (const q of this.queues.values()) {
      if (best === undefined || q.length > best.length || (q.length === best.length && q[q.length - 1].seq > best[best.length - 1].seq)) best = q
    }
    return best === undefined || best.length === 0 ? undefined : { waiter: best[best.length - 1], held: best.length }
  }

  waitingOf (key: string): number { return this.queues.get(key)?.length ?? 0 }
}

/** Bounded, fair, time-limited admission to the verification slots. */
export class WaitingRoom {
  private running = 0
  private runningUntrusted = 0
  private seq = 0
  private readonly known = new RoundRobin()
  private readonly trusted = new RoundRobin()
  private readonly untrusted = new RoundRobin()
  /** Places (waiting + running) per key. */
  private readonly held = new Map<string, number>()
  /** Counters for tests and $SYS. */
  readonly stats = { waited: 0, refusedFull: 0, refusedPerIp: 0, timedOut: 0, turnedAway: 0, abandoned: 0, demoted: 0 }

  constructor (private options: WaitingRoomOptions) {}

  /** Runs `job` in a slot, waiting for one when all are busy; rejects with WaitingRoomRefusal. */
  async run<T> (ticket: Ticket, job: () => Promise<T>): Promise<T> {
    const held = this.held.get(ticket.key) ?? 0
    if (ticket.perKeyCap !== undefined && held >= ticket.perKeyCap) {
      this.stats.refusedPerIp++
      throw new WaitingRoomRefusal('per-ip')
    }
    let admitted = ticket
    if (this.canStart(ticket.trusted)) {
      this.take(ticket)
    } else {
      admitted = await this.wait(ticket) // demoted on the way, perhaps
    }
    try {
      return await job()
    } finally {
      this.release(admitted)
    }
  }

  /** Logins running and waiting. */
  get load (): { running: number, waiting: number } {
    return { running: this.running, waiting: this.waiting }
  }

  private get waiting (): number {
    return this.known.count + this.trusted.count + this.untrusted.count
  }

  private queueOf (t: Ticket): RoundRobin {
    return !t.trusted ? this.untrusted : t.known === true ? this.known : this.trusted
  }

  /** The next trusted waiter, known ones first; demoted ones move to the untrusted queue on the way. */
  private shiftTrusted (): Waiter | undefined {
    for (;;) {
      const w = this.known.count > 0 ? this.known.shift() : this.trusted.shift()
      if (w === undefined) return undefined
      if (w.ticket.known !== true && w.ticket.demoted?.() === true) {
        w.ticket = { ...w.ticket, trusted: false }
        this.stats.demoted++
        this.untrusted.push(w)
        continue
      }
      return w
    }
  }

  private canStart (trusted: boolean): boolean {
    if (this.running >= this.options.slots) return false
    // a trusted login waiting goes first even when an untrusted one could start
    if (trusted) return true
    return this.known.count + this.trusted.count === 0 && this.runningUntrusted < Math.max(1, this.options.slots - this.options.reservedSlots)
  }

  private take (ticket: Ticket): void {
    this.running++
    if (!ticket.trusted) this.runningUntrusted++
    this.held.set(ticket.key, (this.held.get(ticket.key) ?? 0) + 1)
  }

  private release (ticket: Ticket): void {
    this.running--
    if (!ticket.trusted) this.runningUntrusted--
    this.drop(ticket.key)
    this.pump()
  }

  private drop (key: string): void {
    const n = (this.held.get(key) ?? 1) - 1
    if (n <= 0) this.held.delete(key)
    else this.held.set(key, n)
  }

  /** Starts waiters while slots allow: trusted first, then untrusted within their share. */
  private pump (): void {
    for (;;) {
      let w: Waiter | undefined
      if (this.running >= this.options.slots) return
      if (this.known.count + this.trusted.count > 0) w = this.shiftTrusted()
      if (w === undefined && this.untrusted.count > 0 && this.canStart(false)) w = this.untrusted.shift()
      if (w === undefined) return
      if (w.timer !== undefined) clearTimeout(w.timer)
      if (w.ticket.stillWanted?.() === false) {
        this.drop(w.ticket.key)
        this.stats.abandoned++
        w.refuse(new WaitingRoomRefusal('abandoned'))
        continue
      }
      this.running++
      if (!w.ticket.trusted) this.runningUntrusted++
      w.start()
    }
  }

  /** Waits for a slot; resolves to the ticket the waiter was admitted with (demoted or not). */
  private async wait (ticket: Ticket): Promise<Ticket> {
    if (!this.makeRoom(ticket)) {
      this.stats.refusedFull++
      throw new WaitingRoomRefusal('room-full')
    }
    this.stats.waited++
    this.held.set(ticket.key, (this.held.get(ticket.key) ?? 0) + 1)
    let admitted = ticket
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { ticket, start: () => { admitted = w.ticket; resolve() }, refuse: reject, timer: undefined, seq: this.seq++ }
      w.timer = setTimeout(() => {
        if (!this.queueOf(w.ticket).remove(w)) return
        this.drop(ticket.key)
        this.stats.timedOut++
        reject(new WaitingRoomRefusal('timeout'))
      }, this.options.maxWait)
      this.queueOf(ticket).push(w)
    })
    return admitted
  }

  /** Whether `ticket` may take a place, turning away a less entitled waiter when the room is full. */
  private makeRoom (ticket: Ticket): boolean {
    if (this.waiting < this.options.size) return true
    // an untrusted waiter gives way to a trusted login
    let victim = ticket.trusted ? this.untrusted.newestOfLargest() : undefined
    if (victim === undefined) {
      // within a class: the address holding the most places gives way to one holding fewer
      const pool = this.queueOf(ticket)
      const largest = pool.newestOfLargest()
      if (largest !== undefined && largest.held > pool.waitingOf(ticket.key) + 1) victim = largest
    }
    if (victim === undefined) return false
    const w = victim.waiter
    this.queueOf(w.ticket).remove(w)
    if (w.timer !== undefined) clearTimeout(w.timer)
    this.drop(w.ticket.key)
    this.stats.turnedAway++
    w.refuse(new WaitingRoomRefusal('room-full'))
    return true
  }
}
