// `edgemq keygen`: a new secretbox key, or box / sign key pair, written as key
// files (secret 0600, public 0644; docs/envelope.md "Key files").
import type { CliCommand } from '../cli-command.ts'
import { EdgemqError, ERROR_CODES } from '../../errors.ts'
import { writeKeyFile } from '../../crypto/key-file.ts'
import { keygen, type KeygenType } from '../../crypto/keys.ts'
import { parseFlags, runCommand } from '../../crypto/cli-support.ts'

const USAGE = `usage: edgemq keygen --type secretbox|box|sign --out FILE [--force]

Makes a new key and writes it as an edgemq key file (docs/envelope.md).
  secretbox  one shared key: FILE (secret, mode 0600); both sides need it
  box        an X25519 key pair: FILE (secret, 0600) and FILE.pub (public, 0644)
  sign       an Ed25519 key pair: FILE (secret, 0600) and FILE.pub (public, 0644)
Prints the key id (16 hex digits) the envelopes will carry.

  -t, --type TYPE   secretbox, box or sign
  -o, --out FILE    where to write the secret key (the public key goes to FILE.pub)
  -f, --force       replace existing files (the old key is gone for good)
  -h, --help        this help

examples:
  edgemq keygen --type box --out /etc/edgemq/keys/cloud.key
  edgemq keygen --type secretbox --out shared.key
`

/** The keygen command. */
export const keygenCommand: CliCommand = {
  name: 'keygen',
  summary: 'make a payload encryption key (secretbox, box or sign) as 0600 key files',
  usage: USAGE,
  run: async (args, io) => await runCommand('keygen', io, async () => {
    const flags = parseFlags(args, { type: { type: 'string', short: 't' }, out: { type: 'string', short: 'o' }, force: { type: 'boolean', short: 'f' } })
    if (flags.help === true) { io.stdout.write(USAGE); return 0 }
    const type = flags.type
    if (type !== 'secretbox' && type !== 'box' && type !== 'sign') {
      throw new EdgemqError(ERROR_CODES.USAGE, `--type must be secretbox, box or sign: got ${type === undefined ? 'nothing' : `"${String(type)}"`}`)
    }
    const out = flags.out
    if (typeof out !== 'string' || out === '') throw new EdgemqError(ERROR_CODES.USAGE, '--out FILE is required: where to write the secret key')
    const overwrite = flags.force === true
    const pair = keygen(type as KeygenType)
    // The secret first: a failed run never leaves a public key whose secret does not exist.
    await writeKeyFile(out, pair.secret, { overwrite })
    io.stdout.write(`${pair.secret.type} key ${pair.secret.id} written to ${out} (mode 0600)\n`)
    if (pair.public !== undefined) {
      await writeKeyFile(`${out}.pub`, pair.public, { overwrite })
      io.stdout.write(`${pair.public.type} key ${pair.public.id} written to ${out}.pub (mode 0644, share it with the peers)\n`)
    }
    return 0
  })
}
