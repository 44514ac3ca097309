/** Option parsers that turn bad values into exit-2 usage errors that name the option. */
import { InvalidArgumentError } from 'commander'

export function parseIntOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} takes a whole number from ${min} to ${max}; got "${value}".`)
    }
    return n
  }
}

/** A comma-separated list of whole numbers, each checked as parseIntOption does. */
export function parseIntListOption(flag: string, min: number, max: number): (value: string) => number[] {
  return (value) => {
    const parts = value.split(',').map((v) => v.trim())
    if (parts.some((v) => !/^\d+$/.test(v) || Number(v) < min || Number(v) > max)) {
      throw new InvalidArgumentError(`${flag} takes comma-separated whole numbers from ${min} to ${max}; got "${value}".`)
    }
    return parts.map(Number)
  }
}
