// Test helper: poll a condition on real sockets' side effects instead of sleeping a guessed time.

/** Resolves once `check()` holds, polling every `stepMs`; rejects naming `what` after `timeoutMs` (generous: a slow machine is not a failure). */
export async function waitUntil (what: string, check: () => boolean, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
}
