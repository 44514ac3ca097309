import { describe, expect, it } from 'vitest'
import { nginxConfig } from '../../../src/bench/nginx.ts'

describe('the nginx anchor config', () => {
  it('listens on loopback only and keeps an upstream keepalive pool (HTTP/1.1, no Connection header)', () => {
    const conf = nginxConfig('/tmp/p', 18080, 'https://127.0.0.1:9443')
    expect(conf).toMatch(/listen 127\.0\.0\.1:18080;/)
    expect(conf).toMatch(/upstream fake \{ server 127\.0\.0\.1:9443; keepalive 128; \}/)
    expect(conf).toMatch(/proxy_pass https:\/\/fake;/)
    expect(conf).toMatch(/proxy_http_version 1\.1;/)
    expect(conf).toMatch(/proxy_set_header Connection "";/)
    expect(conf).toMatch(/proxy_buffering off;/)
    expect(conf).not.toMatch(/listen (0\.0\.0\.0|\*|\[::\])/)
  })
})
