// "plain aedes": the library edgemq is built on, with its defaults (in-memory
// persistence, no hooks) behind node:net. The third baseline of the benchmark:
// what edgemq starts from before any of its own work.
//
//   node test/bench/plain-aedes-server.mjs <port>
//
// Plain JavaScript on purpose: run by node without a TypeScript loader, so the
// loader's own memory does not count against aedes.
import { Aedes } from 'aedes'
import { createServer } from 'node:net'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
  console.error(`plain-aedes-server: the port must be an integer 1-65535: got "${process.argv[2]}"`)
  process.exit(2)
}
const broker = await Aedes.createBroker()
const server = createServer(broker.handle)
server.listen(port, '127.0.0.1', () => {
  console.error(`${new Date().toISOString()} info plain-aedes: listening host=127.0.0.1 port=${port} pid=${process.pid}`)
})
const stop = () => {
  server.close()
  broker.close(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
