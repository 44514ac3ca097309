/** `qcc-lab upstream start` on bad input: a busy port and bad --fault specs are exit 2 without a stack trace. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { once } from 'node:events'
import net from 'node:net'
import { runCli } from '../helpers/cli.ts'

let holder: net.Server
let port: number

beforeAll(async () => {
  holder = net.createServer()
  holder.listen(0, '127.0.0.1')
  await once(holder, 'listening')
  port = (holder.address() as net.AddressInfo).port
})
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve))
})

const run = (args: string[]) => runCli(args, { timeoutMs: 20_000 })

describe('qcc-lab upstream start', () => {
  it('exits 2 when the port is already in use, and leaves its holder alone', async () => {
    const r = await run(['upstream', 'start', '--port', String(port)])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`qcc-lab: Failed to start the fake upstream: 127.0.0.1:${port} is already in use by another process; it was left alone. Pick another --port (0 = any free port).\n`)
    expect(holder.listening).toBe(true)
  })

  it('exits 2 when it cannot listen on --host', async () => {
    const r = await run(['upstream', 'start', '--host', '192.0.2.1', '--port', '0'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('qcc-lab: Failed to start the fake upstream: cannot listen on 192.0.2.1 (EADDRNOTAVAIL). Use an address of this machine, e.g. 127.0.0.1.\n')
  })

  const badFaults: Array<[string[], string]> = [
    [['idle-close:idleMs=abc'], 'qcc-lab: --fault "idle-close:idleMs=abc": idleMs: expected a number, got string\n'],
    [['idle-close:idleMs=10,mode=banana'], 'qcc-lab: --fault "idle-close:idleMs=10,mode=banana": mode: expected one of "fin", "rst"\n'],
    [['idle-close:idleMs=10,nope=1'], 'qcc-lab: --fault "idle-close:idleMs=10,nope=1": nope: unknown field; remove it or check its spelling\n'],
    [['race-close', 'race-close:afterIdleMs=-5'], 'qcc-lab: --fault "race-close:afterIdleMs=-5": afterIdleMs: expected zero or a positive number\n'],
    [['slow-loris'], 'qcc-lab: --fault "slow-loris": kind: unknown fault kind "slow-loris"; expected one of idle-close, race-close, error-response, reset-mid-stream, delay-response, close-after-response\n'],
  ]
  for (const [faults, expected] of badFaults) {
    it(`exits 2 naming the fault and the field: ${faults.join(' ')}`, async () => {
      const r = await run(['upstream', 'start', '--port', '0', ...faults.flatMap((f) => ['--fault', f])])
      expect(r.code).toBe(2)
      expect(r.stderr).toBe(expected)
      expect(r.stdout).toBe('')
    })
  }
})
