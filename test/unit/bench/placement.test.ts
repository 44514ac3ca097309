import { describe, expect, it } from 'vitest'
import { createPinner, planPlacement } from '../../../src/bench/placement.ts'

describe('bench CPU placement', () => {
  it('does not pin on one core', () => {
    expect(planPlacement(1)).toBeNull()
  })

  it('on two cores gives the proxy a core of its own and direct both cores', () => {
    expect(planPlacement(2)).toEqual({ client: '0', upstreamDirect: '1', upstreamProxied: '0', proxy: '1' })
  })

  it('on more cores gives each role its own', () => {
    expect(planPlacement(3)).toEqual({ client: '0', upstreamDirect: '1', upstreamProxied: '1', proxy: '2' })
    expect(planPlacement(8)).toEqual({ client: '0', upstreamDirect: '1', upstreamProxied: '1', proxy: '2-7' })
  })

  it('says why it does not pin', () => {
    expect(createPinner(2, false).description).toBe('not pinned (use --pin to pin)')
    expect(createPinner(1, true)).toMatchObject({ plan: null, description: 'not pinned (1 core)' })
  })
})
