// The process-wide memory budget as a pure state machine: fed a memory
// reading, it says whether the broker is fine, above the soft mark (refuse new
// connections and new retained messages, shed QoS 0 to slow consumers) or
// above the hard mark (also disconnect the heaviest clients). Leaving a state
// needs the reading to fall a margin below its mark, so a reading hovering at
// a mark does not flap.

/** ok < soft < hard. */
export type MemoryState = 'ok' | 'soft' | 'hard'

/** Marks in bytes; `hysteresis` is the fraction below a mark a reading must fall to leave it. */
export interface MemoryMarks {
  softMark: number
  hardMark: number
  hysteresis?: number
}

/** One reading and the state it led to. */
export interface MemoryReading {
  used: number
  state: MemoryState
  /** Bytes above the soft mark (what the hard-mark action tries to free). */
  excess: number
}

/** The state machine. */
export class MemoryBudget {
  #marks: Required<MemoryMarks>
  #state: MemoryState = 'ok'
  #last: MemoryReading = { used: 0, state: 'ok', excess: 0 }
  /** Times each state was entered, for $SYS and `limits.get`. */
  readonly entered = { soft: 0, hard: 0 }

  constructor (marks: MemoryMarks) {
    this.#marks = { hysteresis: 0.05, ...marks }
  }

  /** Changes the marks (reload); the next reading decides the state. */
  setMarks (marks: MemoryMarks): void {
    this.#marks = { hysteresis: 0.05, ...marks }
  }

  /** The marks in force. */
  get marks (): Required<MemoryMarks> { return this.#marks }

  /** The current state. */
  get state (): MemoryState { return this.#state }

  /** The last reading. */
  get last (): MemoryReading { return this.#last }

  /** Feeds one reading (bytes used); returns the new state. */
  update (used: number): MemoryReading {
    const { softMark, hardMark, hysteresis } = this.#marks
    const below = (mark: number): boolean => used < mark * (1 - hysteresis)
    let next: MemoryState = this.#state
    if (used >= hardMark) next = 'hard'
    else if (used >= softMark) next = this.#state === 'hard' && !below(hardMark) ? 'hard' : 'soft'
    else if (this.#state === 'hard') next = below(hardMark) ? (below(softMark) ? 'ok' : 'soft') : 'hard'
    else if (this.#state === 'soft') next = below(softMark) ? 'ok' : 'soft'
    else next = 'ok'
    if (next !== this.#state && next !== 'ok') this.entered[next]++
    this.#state = next
    this.#last = { used, state: next, excess: Math.max(0, used - softMark) }
    return this.#last
  }
}

/** A client as the hard-mark action sees it: how much memory it holds. */
export interface HeavyClient {
  id: string
  /** Bytes queued for its socket plus bytes of its queued messages. */
  weight: number
}

/**
 * The clients to disconnect to free about `excess` bytes: heaviest first,
 * never more than `maxVictims` per reading (the next reading decides again
 * once the freed memory shows), and never one that holds nothing.
 */
export function pickHeaviestClients (clients: Iterable<HeavyClient>, excess: number, maxVictims: number): HeavyClient[] {
  const sorted = [...clients].filter((c) => c.weight > 0).sort((a, b) => b.weight - a.weight)
  const victims: HeavyClient[] = []
  let freed = 0
  for (const c of sorted) {
    if (victims.length >= maxVictims || (freed >= excess && victims.length > 0)) break
    victims.push(c)
    freed += c.weight
  }
  return victims
}
