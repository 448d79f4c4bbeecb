// Where the control socket of a config lives.
import { join } from 'node:path'
import type { EdgemqConfig } from '../config/types.ts'

/** control.socket, or <persistence.path>/control.sock. */
export function controlSocketPath (config: EdgemqConfig): string {
  const control = config.control as { socket?: string } | undefined
  return control?.socket ?? join(config.persistence.path, 'control.sock')
}
