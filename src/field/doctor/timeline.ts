/**
 * Counts over time in bounded memory, whatever the log's length: events go into aligned buckets that
 * start at 1 s and coarsen (each size a multiple of the one before, so merging is exact) whenever more
 * than `maxBuckets` distinct buckets exist. The shown size is picked from the log's span at the end:
 * the smallest that fits the span in `maxRows` rows (1 s for a burst, 1 h for a day, 1 d for a month).
 */
import { formatNaiveTime } from './log-line.ts'

const S = 1_000
const M = 60 * S
const H = 60 * M
const D = 24 * H

/** Bucket sizes (ms), each a multiple of the previous one. */
export const bucketSizesMs = [S, 5 * S, 10 * S, 30 * S, M, 5 * M, 10 * M, 30 * M, H, 6 * H, D, 7 * D] as const

export const timelineColumns = ['requests', 'stale', 'noEndpoint', 'fallback', 'queueAdded', 'recovered', 'clientErrors'] as const
export type TimelineColumn = (typeof timelineColumns)[number]
export type TimelineCounts = Record<TimelineColumn, number>

export interface TimelineBucket {
  /** Bucket start as the log writes times (naive local), to the second. */
  readonly start: string
  readonly counts: TimelineCounts
}

export interface Timeline {
  readonly bucketMs: number
  /** Non-empty buckets, oldest first. */
  readonly buckets: readonly TimelineBucket[]
}

const zero = (): TimelineCounts => ({ requests: 0, stale: 0, noEndpoint: 0, fallback: 0, queueAdded: 0, recovered: 0, clientErrors: 0 })

/** `1 s`, `5 min`, `1 h`, `1 d`. */
export function formatBucket(ms: number): string {
  if (ms % D === 0) return `${ms / D} d`
  if (ms % H === 0) return `${ms / H} h`
  if (ms % M === 0) return `${ms / M} min`
  return `${ms / S} s`
}

export class TimelineCounter {
  #sizeIndex = 0
  #buckets = new Map<number, TimelineCounts>()
  #min = Infinity
  #max = -Infinity
  readonly #maxBuckets: number

  constructor(maxBuckets = 4_096) {
    this.#maxBuckets = maxBuckets
  }

  get #size(): number {
    return bucketSizesMs[this.#sizeIndex]!
  }

  /** Counts `n` of `column` at `timeMs` (a naive time, see LogRecord.timeMs). */
  add(timeMs: number, column: TimelineColumn, n = 1): void {
    if (timeMs < this.#min) this.#min = timeMs
    if (timeMs > this.#max) this.#max = timeMs
    const key = Math.floor(timeMs / this.#size) * this.#size
    let counts = this.#buckets.get(key)
    if (!counts) {
      counts = zero()
      this.#buckets.set(key, counts)
    }
    counts[column] += n
    if (this.#buckets.size > this.#maxBuckets && this.#sizeIndex < bucketSizesMs.length - 1) this.#coarsen(this.#sizeIndex + 1)
  }

  #coarsen(index: number): void {
    this.#sizeIndex = index
    const merged = new Map<number, TimelineCounts>()
    for (const [start, counts] of this.#buckets) {
      const key = Math.floor(start / this.#size) * this.#size
      const into = merged.get(key)
      if (!into) merged.set(key, { ...counts })
      else for (const c of timelineColumns) into[c] += counts[c]
    }
    this.#buckets = merged
  }

  /** The buckets at the smallest size that shows the whole span in at most `maxRows` rows. */
  result(maxRows = 24): Timeline {
    if (this.#buckets.size === 0) return { bucketMs: this.#size, buckets: [] }
    let index = this.#sizeIndex
    const rows = (size: number): number => Math.floor(this.#max / size) - Math.floor(this.#min / size) + 1
    while (index < bucketSizesMs.length - 1 && rows(bucketSizesMs[index]!) > maxRows) index++
    if (index !== this.#sizeIndex) this.#coarsen(index)
    const buckets = [...this.#buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([start, counts]) => ({ start: formatNaiveTime(start), counts: { ...counts } }))
    return { bucketMs: this.#size, buckets }
  }
}
