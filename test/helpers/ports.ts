/**
 * Ports for tests that hand a port to another process, or need one where nothing listens. A port from
 * `listen(0)` comes from the kernel's ephemeral range, where every other `listen(0)` on the machine (the
 * fake upstreams and proxies of test files running at the same time) may be given it again as soon as it
 * is released: a port "where nothing listens" would then answer, and a child told to listen there would
 * fail to bind while something else answers in its place. `portForChild` (src/shared/ports.ts, what a
 * target's `{port}` gets) picks one below the ephemeral range, where the kernel hands out nothing on its
 * own.
 */
import { portForChild } from '../../src/shared/ports.ts'

/** A port on 127.0.0.1 that was free a moment ago and that no `listen(0)` will be given meanwhile. */
export const quietPort = portForChild

/** A port on 127.0.0.1 where nothing listens, and where no other test's `listen(0)` can start to. */
export const closedPort = portForChild
