/** Starts fake upstreams + the proxy + a one-connection client, and collects the proxy's events. */
import { Pool } from 'undici'
import { startFakeUpstream, type FakeUpstream, type UpstreamSpec } from '../../fake-upstreams/index.ts'
import { startProxy, type ProxyHandle } from '../../src/proxy/server.ts'
import type { ConnectorSelection } from '../../src/proxy/connector/profiles.ts'
import type { ClusterConfig } from '../../src/proxy/config.ts'
import { collectProxyEvents, type Collector } from '../../src/harness/report/collect.ts'
import { DisposeStack } from '../../src/shared/dispose-stack.ts'

export interface Fixture {
  readonly upstreams: FakeUpstream[]
  readonly proxy: ProxyHandle
  readonly events: Collector
  /** POST /v1/messages through the proxy with `x-request-id: id`. */
  send(id: string, body?: object): Promise<{ status: number; text: string; headers: Record<string, unknown> }>
  close(): Promise<void>
}

export const messageBody = { model: 'claude-test', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }

export async function startFixture(options: {
  readonly connector: ConnectorSelection['profile'] | ConnectorSelection
  readonly upstreams?: readonly UpstreamSpec[]
  /** Extra endpoints given by URL (e.g. a hand-written server). */
  readonly extraEndpoints?: readonly string[]
  /** Cluster settings beyond the connector (attempt limits, compat, strategy…). */
  readonly cluster?: Partial<Omit<ClusterConfig, 'name' | 'endpoints' | 'connector'>>
  readonly clock?: () => number
}): Promise<Fixture> {
  const stack = new DisposeStack()
  const upstreams: FakeUpstream[] = []
  for (const spec of options.upstreams ?? [{}]) {
    const up = await startFakeUpstream(spec)
    stack.defer('upstream', () => up.close())
    upstreams.push(up)
  }
  const connector = typeof options.connector === 'string' ? { profile: options.connector } : options.connector
  const proxy = await startProxy({
    port: 0,
    seed: 1,
    clock: options.clock,
    cluster: {
      name: 'test',
      ...options.cluster,
      connector,
      endpoints: [
        ...upstreams.map((u, i) => ({ baseUrl: u.url, apiKey: `sk-test-key-000${i + 1}` })),
        ...(options.extraEndpoints ?? []).map((url, i) => ({ baseUrl: url, apiKey: `sk-extra-000${i + 1}` })),
      ],
    },
  })
  stack.defer('proxy', () => proxy.close())
  const events = collectProxyEvents(proxy.id)
  stack.defer('events', () => events.stop())
  const client = new Pool(proxy.url, { allowH2: false, connections: 1 })
  stack.defer('client', () => client.close())
  return {
    upstreams,
    proxy,
    events,
    async send(id, body = messageBody) {
      const res = await client.request({
        method: 'POST',
        path: '/v1/messages',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify(body),
      })
      return { status: res.statusCode, text: await res.body.text(), headers: res.headers }
    },
    close: () => stack.dispose(),
  }
}
