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

/** The ports portForChild picks from: 10000 up to the ephemeral range. */
export function childPortRange(): { readonly lowest: number; readonly highest: number } {
  return { lowest: 10_000, highest: ephemeralLow() - 1 }
}

/** Slices of the range below the ephemeral one; a process picks from the one its pid names (see portForChild). */
const portSlices = 64

/**
 * The ports `portForChild` picks from in process `pid`: slice `pid % 64` of [lowest, highest], or all of it
 * where a slice would hold fewer than 100 ports.
 */
export function portSlice(pid: number, lowest: number, highest: number): { readonly from: number; readonly to: number } {
  const size = Math.floor((highest - lowest + 1) / portSlices)
  if (size < 100) return { from: lowest, to: highest }
  const from = lowest + (pid % portSlices) * size
  return { from, to: from + size - 1 }
}

/**
 * A free port on 127.0.0.1 for another process to bind later (a target proxy's {port}). From `freePort()`
 * (the ephemeral range) any `listen(0)` on the machine may be given the same port before that process binds
 * it: another variant's fake upstream did, under `run --jobs` and parallel tests, and the target looked
 * started while it was the upstream that answered. Below the ephemeral range the kernel hands out nothing
 * by itself. Falls back to `freePort()` where that range leaves no room.
 *
 * Two processes picking at once (two `qcc-lab run`s, test files side by side) could still hand out the same
 * port before either child binds it: a clean-clone CI run saw a target exit with "already in use" while its
 * port answered for another run's target. So each process picks from its own slice of the range (its pid
 * modulo 64; 355 ports each on Linux's default range), and from the whole range only once its slice is full.
 */
export async function portForChild(): Promise<number> {
  const { lowest, highest } = childPortRange()
  if (highest - lowest < 1_000) return freePort()
  const own = portSlice(process.pid, lowest, highest)
  for (let tries = 0; tries < 200; tries++) {
    const port = tries < 100 ? randomInt(own.from, own.to + 1) : randomInt(lowest, highest + 1)
    if (handedOut.has(port)) continue
    handedOut.add(port)
    if (await canBind(port)) return port
  }
  return freePort()
}
