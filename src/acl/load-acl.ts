// Loads the ACL named by the config: `auth.aclFile` (edgemq YAML or a
// Mosquitto acl_file, told apart by content) or the inline `acl:` section.
import { readFile } from 'node:fs/promises'
import { EdgemqError, ERROR_CODES } from '../errors.ts'
import type { AclPolicy } from './acl-policy.ts'
import { looksLikeMosquittoAcl, parseMosquittoAcl } from './mosquitto-acl.ts'
import { parseYamlAcl, policyFromData } from './yaml-acl.ts'

/** Parses ACL text in either format. */
export function parseAclText (text: string, path: string): AclPolicy {
  return looksLikeMosquittoAcl(text) ? parseMosquittoAcl(text, path) : parseYamlAcl(text, path)
}

/** The ACL of a config, or undefined when it has none (then every topic but $SYS writes is allowed). */
export async function loadAcl (options: { aclFile?: string, inline?: unknown }): Promise<AclPolicy | undefined> {
  if (options.aclFile !== undefined && options.inline !== undefined) {
    throw new EdgemqError(ERROR_CODES.ACL_FILE_INVALID, 'both auth.aclFile and an acl: section are set: keep one')
  }
  if (options.inline !== undefined) return policyFromData(options.inline, 'config acl:')
  if (options.aclFile === undefined) return undefined
  let text: string
  try {
    text = await readFile(options.aclFile, 'utf8')
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.ACL_FILE_INVALID, `cannot read ACL file ${options.aclFile}: ${(err as Error).message} (fix auth.aclFile)`, { cause: err })
  }
  return parseAclText(text, options.aclFile)
}
