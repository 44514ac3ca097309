/** Node's timers hold at most 2³¹−1 ms; `setTimeout` fires a longer one after 1 ms (and warns). */
export const MAX_TIMER_MS = 2 ** 31 - 1
