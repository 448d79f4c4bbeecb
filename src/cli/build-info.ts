// Version, commit and (for packaged builds) board, baked in at build time.

/** What this build is. */
export function buildInfo (): { version: string, commit: string, board?: string } {
  return {
    version: typeof EDGEMQ_VERSION === 'string' ? EDGEMQ_VERSION : 'dev',
    commit: typeof EDGEMQ_COMMIT === 'string' ? EDGEMQ_COMMIT : 'source',
    // Packages set EDGEMQ_BOARD in the service environment.
    board: process.env.EDGEMQ_BOARD
  }
}
