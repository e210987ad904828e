// Reconnect delays: exponential growth capped, with "full jitter" (a uniformly random
// delay between 0 and the capped exponential), so many Desks do not reconnect in step.

/**
 * The delay before reconnect attempt number `attempt` (0 for the first).
 * @param {number} attempt
 * @param {{base?: number, cap?: number}} [options] milliseconds
 * @param {() => number} [random] returns [0, 1)
 * @returns {number} milliseconds
 */
export function fullJitter(attempt, { base = 1000, cap = 30000 } = {}, random = Math.random) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.floor(random() * ceiling);
}

/** Counts attempts; `next()` gives the next delay, `reset()` starts over (on open). */
export class Backoff {
  /**
   * @param {{base?: number, cap?: number}} [options]
   * @param {() => number} [random]
   */
  constructor(options = {}, random = Math.random) {
    this.options = options;
    this.random = random;
    this.attempt = 0;
  }

  /** @returns {number} milliseconds to wait before the next attempt */
  next() {
    const delay = fullJitter(this.attempt, this.options, this.random);
    this.attempt += 1;
    return delay;
  }

  reset() {
    this.attempt = 0;
  }
}
