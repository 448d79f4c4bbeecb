// What the keygen, seal and open commands share: bounded stdin reading,
// output encodings, flag parsing with usage errors, and error printing.
import { parseArgs } from 'node:util'
import { EdgemqError, ERROR_CODES, isEdgemqError } from '../errors.ts'
import type { CliIo } from '../cli/cli-command.ts'
import { DEFAULT_MAX_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES_CEILING } from './envelope-format.ts'

/** How bytes cross stdin/stdout: raw (binary, for pipes into mosquitto_pub -s), hex or base64 (for terminals and logs). */
export type ByteFormat = 'raw' | 'hex' | 'base64'
const FORMATS: readonly ByteFormat[] = ['raw', 'hex', 'base64']

type FlagSpec = Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }>

/** Parses a command's flags strictly; unknown flags and stray arguments are usage errors. */
export function parseFlags (args: string[], options: FlagSpec): Record<string, string | string[] | boolean | undefined> {
  try {
    const parsed = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true })
    return parsed.values as Record<string, string | string[] | boolean | undefined>
  } catch (err) {
    throw new EdgemqError(ERROR_CODES.USAGE, `${(err as Error).message} (see --help)`)
  }
}

/** The --format value, checked. */
export function parseFormat (value: unknown): ByteFormat {
  if (value === undefined) return 'raw'
  if (typeof value !== 'string' || !(FORMATS as readonly string[]).includes(value)) throw new EdgemqError(ERROR_CODES.USAGE, `--format must be raw, hex or base64: got "${String(value)}"`)
  return value as ByteFormat
}

/** The --max-bytes value (bytes), checked; default 1 MiB. */
export function parseMaxBytes (value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ENVELOPE_BYTES
  const n = Number(value)
  if (!Number.isInteger(n) || n < 64 || n > MAX_ENVELOPE_BYTES_CEILING) throw new EdgemqError(ERROR_CODES.USAGE, `--max-bytes must be a whole number of bytes from 64 to ${MAX_ENVELOPE_BYTES_CEILING}: got "${String(value)}"`)
  return n
}

/** Reads all of stdin, refusing more than `max` bytes (the rest is not buffered). */
export async function readInput (stream: NodeJS.ReadableStream, max: number, what: string, tooLarge?: (message: string) => Error): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    total += buf.length
    if (total > max) {
      const message = `${what} on stdin is over ${max} bytes: raise --max-bytes if such payloads are expected`
      throw tooLarge === undefined ? new EdgemqError(ERROR_CODES.CRYPTO_INVALID, message) : tooLarge(message)
    }
    chunks.push(buf)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** Decodes input in the given format (hex and base64 ignore surrounding whitespace). */
export function decodeInput (bytes: Uint8Array, format: ByteFormat): Uint8Array {
  if (format === 'raw') return bytes
  const text = Buffer.from(bytes).toString('utf8').replace(/\s+/g, '')
  const ok = format === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/.test(text) : /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0
  if (!ok) throw new EdgemqError(ERROR_CODES.CRYPTO_INVALID, `stdin is not valid ${format}: starts with "${text.slice(0, 16)}" (drop --format ${format} for raw bytes)`)
  return new Uint8Array(Buffer.from(text, format))
}

/** Encodes output in the given format (hex and base64 end with a newline). */
export function encodeOutput (bytes: Uint8Array, format: ByteFormat): Uint8Array {
  if (format === 'raw') return bytes
  return new Uint8Array(Buffer.from(Buffer.from(bytes).toString(format) + '\n'))
}

/** Writes and waits until the stream took the bytes, so an exit right after loses nothing. */
export async function writeOutput (stream: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    stream.write(bytes, (err) => { if (err === undefined || err === null) resolve(); else reject(err) })
  })
}

/** Runs a command body: EdgemqErrors become one stderr line and exit 1 (2 for usage errors). */
export async function runCommand (name: string, io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body()
  } catch (err) {
    if (!isEdgemqError(err)) throw err
    io.stderr.write(`edgemq ${name}: ${err.message}\n`)
    return err.code === ERROR_CODES.USAGE ? 2 : 1
  }
}

/** A string flag's values as a list (repeatable flags). */
export function list (value: string | string[] | boolean | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return []
  return Array.isArray(value) ? value : [value]
}
