/**
 * A benchmark child process: runs one fake upstream or one proxy, so the load generator, the proxy and
 * the upstream do not share an event loop. Talks to the parent over IPC:
 * → `{ url }` once listening; ← `summary` → `{ summary }`; ← `reset`; ← `close` → exits.
 */
import { startFakeUpstream, type FakeUpstream } from '../../fake-upstreams/index.ts'
import { startProxy, type ProxyHandle } from '../proxy/server.ts'
import { selfSignedCertificate } from '../shared/self-signed.ts'
import type { ConnectorProfileName } from '../proxy/connector/profiles.ts'

export type HostSpec =
  | { readonly role: 'upstream'; readonly tls: boolean; readonly rttMs: number }
  | { readonly role: 'proxy'; readonly upstreamUrl: string; readonly profile: ConnectorProfileName }

const send = (m: unknown): void => { process.send?.(m) }

async function main(spec: HostSpec): Promise<void> {
  let upstream: FakeUpstream | undefined
  let proxy: ProxyHandle | undefined
  if (spec.role === 'upstream') {
    const tls = spec.tls ? await selfSignedCertificate() : undefined
    upstream = await startFakeUpstream({ name: 'bench', tls, networkRttMs: spec.rttMs, behaviour: { textDeltas: 8 } })
    send({ url: upstream.url })
  } else {
    proxy = await startProxy({
      port: 0,
      seed: 1,
      cluster: {
        name: 'bench',
        connector: { profile: spec.profile },
        endpoints: [{ baseUrl: spec.upstreamUrl, apiKey: 'sk-bench-0000', rejectUnauthorized: false }],
        verifier: { enabled: false },
      },
    })
    send({ url: proxy.url })
  }
  process.on('message', (m: unknown) => {
    if (m === 'summary') send({ summary: upstream?.ledger.summary() })
    else if (m === 'reset') {
      upstream?.ledger.clear()
      send({ reset: true })
    }
    else if (m === 'close') void (upstream?.close() ?? proxy?.close(1_000))?.finally(() => process.exit(0))
  })
  process.on('disconnect', () => process.exit(0))
}

const spec = JSON.parse(process.argv[2] ?? '{}') as HostSpec
main(spec).catch((err: unknown) => {
  process.stderr.write(`bench host failed: ${String((err as Error)?.stack ?? err)}\n`)
  process.exit(2)
})
