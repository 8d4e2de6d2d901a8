/** The processor's clock: wall-clock epoch ms, injected wherever logic depends on time so tests control it. */

/** A clock: the current time in epoch ms. */
export type Clock = () => number;

/** The system clock. */
export const systemClock: Clock = () => Date.now();
