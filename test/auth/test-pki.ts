// Test helper: a throw-away PKI made with the openssl CLI: a CA, a server
// certificate for 127.0.0.1, client certificates (good, expired, revoked,
// signed by another CA) and a CRL.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Paths of the generated files. */
export interface TestPki {
  dir: string
  ca: string
  crl: string
  server: { cert: string, key: string }
  client: (name: 'alice' | 'expired' | 'revoked' | 'wrongca' | 'san') => { cert: string, key: string }
}

/** Builds the PKI under dir/pki. Fails with the install hint when openssl is missing. */
export async function makeTestPki (base: string): Promise<TestPki> {
  if (spawnSync('which', ['openssl']).status !== 0) throw new Error('openssl is missing: apt-get install openssl')
  const dir = join(base, 'pki')
  await mkdir(join(dir, 'newcerts'), { recursive: true })
  await writeFile(join(dir, 'index.txt'), '')
  await writeFile(join(dir, 'serial'), '1000\n')
  await writeFile(join(dir, 'crlnumber'), '1000\n')
  const cnf = join(dir, 'ca.cnf')
  await writeFile(cnf, `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = copy
[ policy_any ]
commonName = supplied
`)
  const ossl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }) }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=edgemq-test-ca', '-days', '365')
  ossl('req', '-x509', ...ec, '-keyout', 'ca2.key', '-out', 'ca2.pem', '-subj', '/CN=other-ca', '-days', '365')
  const leaf = (name: string, cn: string, san: string, extra: string[] = []): void => {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`)
    ossl('ca', '-batch', '-config', cnf, '-in', `${name}.csr`, '-out', `${name}.pem`, ...extra)
  }
  leaf('server', '127.0.0.1', 'IP:127.0.0.1')
  leaf('alice', 'alice', 'DNS:alice-device')
  leaf('san', 'ignored-cn', 'DNS:dev-7')
  leaf('expired', 'alice', 'DNS:alice-device', ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'])
  leaf('revoked', 'alice', 'DNS:alice-device')
  ossl('ca', '-config', cnf, '-revoke', 'revoked.pem')
  ossl('ca', '-config', cnf, '-gencrl', '-out', 'crl.pem')
  ossl('req', ...ec, '-keyout', 'wrongca.key', '-out', 'wrongca.csr', '-subj', '/CN=alice')
  ossl('x509', '-req', '-in', 'wrongca.csr', '-CA', 'ca2.pem', '-CAkey', 'ca2.key', '-CAcreateserial', '-out', 'wrongca.pem', '-days', '365')
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    crl: join(dir, 'crl.pem'),
    server: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key') },
    client: (name) => ({ cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) })
  }
}
