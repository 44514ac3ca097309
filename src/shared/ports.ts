/** Port helpers for loopback servers. */
import net from 'node:net'
import { once } from 'node:events'
import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'

/** A port on 127.0.0.1 that was free a moment ago (bound, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** The lowest port the kernel hands out by itself, to `listen(0)` and outgoing connections (Linux; else IANA's 49152). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > 0) return low
  } catch { /* not Linux */ }
  return 49_152
}

/** Handed out by this process already: two targets starting at once could otherwise check one port before either binds it. */
const handedOut = new Set<number>()

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/**
 * A free port on 127.0.0.1 for another process to bind later (a target proxy's {port}). From `freePort()`
 * (the ephemeral range) any `listen(0)` on the machine may be given the same port before that process binds
 * it: another variant's fake upstream did, under `run --jobs` and parallel tests, and the target looked
 * started while it was the upstream that answered. Below the ephemeral range the kernel hands out nothing
 * by itself. Falls back to `freePort()` where that range leaves no room.
 */
export async function portForChild(): Promise<number> {
  const lowest = 10_000
  const highest = ephemeralLow() - 1
  if (highest - lowest < 1_000) return freePort()
  for (let tries = 0; tries < 100; tries++) {
    const port = randomInt(lowest, highest + 1)
    if (handedOut.has(port)) continue
    handedOut.add(port)
    if (await canBind(port)) return port
  }
  return freePort()
}
