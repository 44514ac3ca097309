import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Pool } from 'undici'
import { startFakeUpstream, type FakeUpstream } from '../../../fake-upstreams/index.ts'
import { QccLabError } from '../../../src/shared/errors.ts'

let upstream: FakeUpstream
let pool: Pool
beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'relay', behaviour: { textDeltas: 3 } })
  pool = new Pool(upstream.url, { allowH2: false })
})
afterAll(async () => {
  await pool.close()
  await upstream.close()
})

const post = async (path: string, body: string) => {
  const res = await pool.request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

describe('fake Anthropic Messages API', () => {
  it('answers POST /v1/messages with a JSON message that echoes the model', async () => {
    const res = await post('/v1/messages', JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }))
    expect(res.status).toBe(200)
    const msg = JSON.parse(res.text)
    expect(msg).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-x', stop_reason: 'end_turn', usage: { output_tokens: 3 } })
    expect(msg.id).toMatch(/^msg_relay_\d+$/)
    expect(msg.content[0]).toEqual({ type: 'text', text: 'The relay answered' })
  })

  it('streams the real SSE event sequence with "stream": true', async () => {
    const res = await post('/v1/messages', JSON.stringify({ model: 'm', stream: true, messages: [] }))
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    const events = [...res.text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
    expect(events).toEqual([
      'message_start', 'content_block_start', 'ping',
      'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop',
    ])
    for (const frame of res.text.trim().split('\n\n')) {
      const data = /^data: (.+)$/m.exec(frame)?.[1]
      const event = /^event: (.+)$/m.exec(frame)?.[1]
      expect(JSON.parse(data!).type).toBe(event)
    }
  })

  it('answers invalid JSON with an Anthropic invalid_request_error', async () => {
    const res = await post('/v1/messages', '{nope')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.text)).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'The request body is not valid JSON.' } })
  })

  it('counts tokens', async () => {
    const res = await post('/v1/messages/count_tokens', JSON.stringify({ messages: [{ role: 'user', content: 'hello there' }] }))
    expect(res.status).toBe(200)
    expect(JSON.parse(res.text).input_tokens).toBeGreaterThan(0)
  })

  it('answers unknown routes with a 404 not_found_error', async () => {
    const res = await post('/v2/nothing', '{}')
    expect(res.status).toBe(404)
    expect(JSON.parse(res.text).error.type).toBe('not_found_error')
  })
})

describe('fault validation at start', () => {
  it('names the bad field', async () => {
    const start = startFakeUpstream({ faults: [{ kind: 'idle-close', idleMs: -5 }] })
    await expect(start).rejects.toThrow(QccLabError)
    await expect(start).rejects.toThrow(/faults\[0\]\.idleMs/)
  })

  it('names an unknown kind and the known ones', async () => {
    // @ts-expect-error an unknown kind, as a JavaScript caller may pass it
    await expect(startFakeUpstream({ faults: [{ kind: 'slow-loris' }] })).rejects.toThrow(/faults\[0\]\.kind: unknown fault kind "slow-loris"; expected one of idle-close, race-close/)
  })
})
