/** One cleanup step: close a server, a pool, clear a timer. */
export type Disposer = () => void | Promise<void>

/**
 * Owns everything a run starts. Resources are released in reverse order of acquisition
 * (start A, B, C → stop C, B, A); every disposer runs even when an earlier one throws.
 */
export class DisposeStack {
  readonly #items: Array<{ readonly label: string; readonly fn: Disposer }> = []
  #disposed = false

  /** Registers `fn` to run at dispose time. Returns `fn` for chaining. */
  defer(label: string, fn: Disposer): Disposer {
    if (this.#disposed) throw new Error(`Failed to register "${label}": the dispose stack was already disposed.`)
    this.#items.push({ label, fn })
    return fn
  }

  /** Runs every disposer, last first. Throws an AggregateError naming each one that failed. */
  async dispose(): Promise<void> {
    this.#disposed = true
    const errors: Error[] = []
    while (this.#items.length > 0) {
      const item = this.#items.pop()!
      try {
        await item.fn()
      } catch (err) {
        errors.push(new Error(`Failed to dispose ${item.label}: ${(err as Error).message}`, { cause: err }))
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '))
  }
}
