// The parts attached to the broker core, in order: each registers its hooks,
// control commands and reload handler. One line per part.
import type { AttachPart } from './broker.ts'
import { attachLimits } from './limits/attach-limits.ts'

/** Every part, attached in this order at start. */
export const PARTS: AttachPart[] = [attachLimits]
