/**
 * A throw-away self-signed certificate for 127.0.0.1 / localhost, made at run time (nothing on disk),
 * for HTTPS fake upstreams. `selfsigned` (WebCrypto + pkijs) beats shelling out to openssl: no process,
 * no temp files, same result on every machine. Imported when a certificate is made: its ~200 modules
 * (pkijs, asn1js) cost a plain-HTTP `upstream start` or `bench` ~0.1 CPU-s at start-up otherwise.
 */

export interface KeyAndCert {
  readonly key: string
  readonly cert: string
}

export async function selfSignedCertificate(): Promise<KeyAndCert> {
  const { generate } = await import('selfsigned')
  const pems = await generate([{ name: 'commonName', value: 'qcc-lab fake upstream' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    days: 2,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  } as Parameters<typeof import('selfsigned').generate>[1])
  return { key: pems.private, cert: pems.cert }
}
