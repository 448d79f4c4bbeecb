#!/usr/bin/env node
// firmware-tools/flash: installs edgemq into a mounted root filesystem.
//
//   node firmware-tools/flash.mjs --rootfs DIR --board rpi-4b [--config site.yaml]
//        [--package out/edgemq_<v>_<arch>.deb] [--tls-cert FILE --tls-key FILE]
//        [--ssh-port 22|none] [--ssh-allow CIDR ...]
//   npm run flash -- --rootfs /mnt/rootfs --board rpi-4b --config site.yaml
//
// Without --package it packs the board first (or reuses out/ when it matches).
// Runs as root (it chroots into the rootfs to run the package's own dpkg).
import { register } from 'tsx/esm/api'

register()
const { runFlashCli } = await import('./lib/flash-cli.ts')
process.exitCode = await runFlashCli(process.argv.slice(2))
