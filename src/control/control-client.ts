// The CLI side of the control socket.
import { connect } from 'node:net'
import { EdgemqError, ERROR_CODES } from '../errors.ts'

/** Sends one command to the running broker and resolves to its result. */
export async function callControl (socketPath: string, command: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    const socket = connect(socketPath)
    let buffer = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new EdgemqError(ERROR_CODES.CONTROL_FAILED, `no answer from the broker on ${socketPath} within ${timeoutMs} ms`)) }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => { socket.write(JSON.stringify({ id: 1, command, args }) + '\n') })
    socket.on('data', (chunk: string) => {
      buffer += chunk
      const nl = buffer.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      socket.end()
      try {
        const res = JSON.parse(buffer.slice(0, nl)) as { ok: boolean, result?: unknown, error?: string }
        if (res.ok) resolve(res.result)
        else reject(new EdgemqError(ERROR_CODES.CONTROL_FAILED, `${command}: ${res.error ?? 'failed'}`))
      } catch (err) {
        reject(new EdgemqError(ERROR_CODES.CONTROL_FAILED, `bad answer from the broker: ${(err as Error).message}`))
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
        ? 'is the broker running with this config? (the socket is control.socket, by default <persistence.path>/control.sock)'
        : err.code === 'EACCES' ? 'run as the broker\'s user or root' : ''
      reject(new EdgemqError(ERROR_CODES.CONTROL_FAILED, `cannot reach the broker on ${socketPath}: ${err.message}${hint === '' ? '' : ' — ' + hint}`, { cause: err }))
    })
  })
}
