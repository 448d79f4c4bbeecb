// Child-process entry for e2e tests while src/parts.ts does not list the
// bridge yet: starts the edgemq core with every part plus the bridge, from
// the config file given as argv[2], and logs like `edgemq start` does.
import { startBroker } from '../../src/broker.ts'
import { readConfigFile } from '../../src/config/config-file.ts'
import { resolveConfig } from '../../src/config/load-config.ts'
import { createLogger } from '../../src/observability/logger.ts'
import { PARTS } from '../../src/parts.ts'
import { attachBridgesPart } from '../../src/bridge/bridge-part.ts'

const { config } = await resolveConfig({ file: await readConfigFile(process.argv[2]), flags: { board: 'generic' } })
const logger = createLogger({ level: config.logging.level })
// Once src/parts.ts lists attachBridgesPart this adds nothing (two bridge parts would share one queue).
const broker = await startBroker(config, logger, PARTS.includes(attachBridgesPart) ? PARTS : [...PARTS, attachBridgesPart])
process.once('SIGTERM', () => { void broker.close().then(() => process.exit(0)) })
