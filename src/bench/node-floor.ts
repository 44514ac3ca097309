/**
 * The floor for a proxy written on Node (`bench --anchor node-floor`): node:http in, one undici Pool out,
 * no logic at all — no config, no balancer, no retry, no health, no log, no stats. Whatever CPU per
 * request it needs is what Node and undici cost; what the proxy needs beyond it is the proxy's own.
 * It runs in the bench's proxy process, beside the proxies, and is measured in the same rounds.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool } from 'undici'

/** Hop-by-hop headers (RFC 9110 §7.6.1) a relay does not pass on. */
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection', 'host'])

export interface NodeFloor {
  readonly url: string
  readonly server: http.Server
  close(): Promise<void>
}

export async function startNodeFloor(upstreamUrl: string, idleMs: number): Promise<NodeFloor> {
  const pool = new Pool(upstreamUrl, { connections: 256, keepAliveTimeout: idleMs, keepAliveMaxTimeout: idleMs, connect: { rejectUnauthorized: false } })
  const server = http.createServer({ keepAliveTimeout: idleMs }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopByHop.has(k)) headers[k] = v
      pool.stream({ method: req.method as 'POST', path: req.url ?? '/', headers, body: Buffer.concat(chunks) }, ({ statusCode, headers: up }) => {
        const out: Record<string, string | string[]> = {}
        for (const [k, v] of Object.entries(up)) if (v !== undefined && !hopByHop.has(k)) out[k] = v
        res.writeHead(statusCode, out)
        return res
      }).catch(() => {
        if (!res.headersSent) res.writeHead(502).end()
        else res.destroy()
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await pool.close()
    },
  }
}
