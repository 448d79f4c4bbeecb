#!/usr/bin/env node
// firmware-tools/pack: builds the .deb and .tar.gz for one board.
//
//   node firmware-tools/pack.mjs --board rpi-4b [--out DIR] [--no-build]
//   npm run pack -- --board rpi-4b
//
// Writes out/edgemq_<version>_<arch>.deb and out/edgemq-<version>-<board>.tar.gz.
// Runs the TypeScript tools through tsx, so it can use src/ (boards, config) directly.
import { register } from 'tsx/esm/api'

register()
const { runPackCli } = await import('./lib/pack-cli.ts')
process.exitCode = await runPackCli(process.argv.slice(2))
