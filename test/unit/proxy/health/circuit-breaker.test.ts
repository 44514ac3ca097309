import { describe, expect, it } from 'vitest'
import { CircuitBreaker, type BreakerTransition } from '../../../../src/proxy/health/circuit-breaker.ts'

const make = (resetOnTimeout = false) => {
  const transitions: BreakerTransition[] = []
  const b = new CircuitBreaker({ threshold: 3, openMs: 60_000, resetOnTimeout }, (t) => transitions.push(t))
  return { b, transitions }
}

describe('circuit breaker', () => {
  it('opens after threshold consecutive failures, not before', () => {
    const { b, transitions } = make()
    b.onFailure(0)
    b.onFailure(1)
    expect(b.state(2)).toBe('closed')
    b.onFailure(2)
    expect(b.state(3)).toBe('open')
    expect(b.allows(3)).toBe(false)
    expect(transitions).toEqual(['open'])
  })

  it('a success in between resets the count', () => {
    const { b } = make()
    b.onFailure(0)
    b.onFailure(1)
    b.onSuccess()
    b.onFailure(2)
    b.onFailure(3)
    expect(b.state(4)).toBe('closed')
  })

  it('after openMs lets exactly one probe through (half-open)', () => {
    const { b, transitions } = make()
    for (let i = 0; i < 3; i++) b.onFailure(0)
    expect(b.allows(59_999)).toBe(false)
    expect(b.allows(60_000)).toBe(true)
    expect(b.state(60_000)).toBe('half-open')
    b.onAttempt(60_000)
    expect(b.allows(60_001)).toBe(false)
    expect(transitions).toEqual(['open', 'half-open'])
  })

  it('closes when the probe succeeds', () => {
    const { b, transitions } = make()
    for (let i = 0; i < 3; i++) b.onFailure(0)
    b.onAttempt(60_000)
    b.onSuccess()
    expect(b.state(60_001)).toBe('closed')
    expect(transitions).toEqual(['open', 'half-open', 'close'])
  })

  it('re-opens on a single failed probe, for another openMs', () => {
    const { b } = make()
    for (let i = 0; i < 3; i++) b.onFailure(0)
    b.onAttempt(60_000)
    b.onFailure(60_010)
    expect(b.state(60_011)).toBe('open')
    expect(b.allows(120_009)).toBe(false)
    expect(b.allows(120_010)).toBe(true)
  })

  it('frees the probe slot when the probe was abandoned', () => {
    const { b } = make()
    for (let i = 0; i < 3; i++) b.onFailure(0)
    b.onAttempt(60_000)
    b.onAbandon()
    expect(b.allows(60_001)).toBe(true)
  })

  it('compat breaker-reset-on-timeout: forgets everything after openMs; re-opening needs 3 new failures', () => {
    const { b, transitions } = make(true)
    for (let i = 0; i < 3; i++) b.onFailure(0)
    expect(b.state(60_000)).toBe('closed')
    b.onFailure(60_001)
    expect(b.state(60_002)).toBe('closed') // the default would have re-opened on this one
    b.onFailure(60_003)
    b.onFailure(60_004)
    expect(b.state(60_005)).toBe('open')
    expect(transitions).toEqual(['open', 'reset', 'open'])
  })
})
