// On a reload, the users whose password line changed or who were deleted lose
// their cached verification at once (their digest could never match again,
// since the hash line is part of it, but the memory goes too, and an operator
// reading the log sees how many were forgotten).
import type { PasswordFile } from './password-file.ts'
import { forgetVerifiedUser } from './verification-cache.ts'

/** Forgets every user of `before` whose line differs in `after` (or is gone); returns how many. */
export function forgetChangedUsers (before: PasswordFile | undefined, after: PasswordFile | undefined): number {
  if (before === undefined) return 0
  let n = 0
  for (const [user, entry] of before.users) {
    if (after?.users.get(user)?.text === entry.text) continue
    if (forgetVerifiedUser(user) > 0) n++
  }
  return n
}
