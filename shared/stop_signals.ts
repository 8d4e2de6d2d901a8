/**
 * Signals of a program with a bounded stop (the web app, `deno task services`, `deno task up`): the first SIGINT
 * or SIGTERM asks for an orderly stop within a deadline, a second one for an immediate one.
 * @module
 */
import type { Logger } from "./log.ts";

/** The stop requests a program received. */
export interface StopSignals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly first: Promise<Deno.Signal>;
  /** Resolves with the second one (stop at once). */
  readonly again: Promise<Deno.Signal>;
  /** The first signal, once received. */
  readonly received: Deno.Signal | undefined;
  /** Stops listening. */
  close(): void;
}

/**
 * A copy of the first signal that arrives within this long of it is not a second request. A Ctrl-C in a
 * terminal signals the whole foreground process group, so a program run by `deno task` gets SIGINT from the
 * terminal and once more forwarded by `deno task`, both within a millisecond or so.
 */
export const SIGNAL_COPY_WINDOW_MS = 500;

/** Options of `listenForStop`; tests inject the clock and the signal registry. */
export interface ListenForStopOptions {
  /** How long after the first signal the same signal again counts as its copy, ms; default `SIGNAL_COPY_WINDOW_MS`. */
  copyWindowMs?: number;
  /** Monotonic clock in ms; default `performance.now`. */
  now?: () => number;
  /** Registers a handler of a signal and returns its removal; default `Deno.addSignalListener`. */
  listen?: (signal: "SIGINT" | "SIGTERM", handler: () => void) => () => void;
}

function listenWithDeno(signal: "SIGINT" | "SIGTERM", handler: () => void): () => void {
  Deno.addSignalListener(signal, handler);
  return () => Deno.removeSignalListener(signal, handler);
}

/**
 * Listens for SIGINT and SIGTERM. The first asks for an orderly stop; another one, unless it is the same signal
 * within `copyWindowMs` of the first (the terminal's and `deno task`'s copies of one Ctrl-C), for an immediate one.
 *
 * @example
 * ```ts
 * const signals = listenForStop();
 * await signals.first;                 // orderly stop, within a deadline
 * signals.again.then(() => killAll()); // a second Ctrl-C: at once
 * ```
 */
export function listenForStop(options: ListenForStopOptions = {}): StopSignals {
  const copyWindowMs = options.copyWindowMs ?? SIGNAL_COPY_WINDOW_MS;
  const now = options.now ?? (() => performance.now());
  const listen = options.listen ?? listenWithDeno;
  let received: Deno.Signal | undefined;
  let receivedAt = 0;
  let repeated = false;
  let resolveFirst: (s: Deno.Signal) => void = () => {};
  let resolveAgain: (s: Deno.Signal) => void = () => {};
  const first = new Promise<Deno.Signal>((r) => (resolveFirst = r));
  const again = new Promise<Deno.Signal>((r) => (resolveAgain = r));
  const removals = (["SIGINT", "SIGTERM"] as const).map((sig) =>
    listen(sig, () => {
      if (received === undefined) {
        received = sig;
        receivedAt = now();
        resolveFirst(sig);
      } else if (!repeated && !(sig === received && now() - receivedAt < copyWindowMs)) {
        repeated = true;
        resolveAgain(sig);
      }
    })
  );
  return {
    first,
    again,
    get received() {
      return received;
    },
    close() {
      for (const remove of removals) remove();
    },
  };
}

/** Options of `stopWithin`. */
export interface StopWithinOptions {
  /** The whole stop ends within this long, ms. */
  deadlineMs: number;
  /** Resolves when the stop must end at once (a second signal). */
  again?: Promise<unknown>;
  /** Where the outcome is said when it is not a clean stop. */
  logger: Pick<Logger, "error">;
  /** Timer; default `setTimeout` (tests inject their own). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (id: unknown) => void;
}

/**
 * Runs a program's orderly stop within a deadline and returns its exit code: 0 when `stop` resolved `true` in
 * time, 1 when it resolved `false` (it abandoned work), failed or passed the deadline, 130 on a second signal.
 * The program's own stop keeps running after the deadline or the second signal; the caller exits.
 *
 * @example
 * ```ts
 * const signals = listenForStop();
 * await signals.first;
 * Deno.exit(await stopWithin(() => server.stop().then(() => true), { deadlineMs: 30_000, again: signals.again, logger }));
 * ```
 */
export function stopWithin(stop: () => Promise<boolean>, options: StopWithinOptions): Promise<number> {
  const setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = options.clearTimer ?? ((id: unknown) => clearTimeout(id as number));
  return new Promise<number>((resolve) => {
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimer(timer);
      resolve(code);
    };
    const timer = setTimer(() => {
      options.logger.error("Stop deadline passed: exiting", { deadline_ms: options.deadlineMs });
      finish(1);
    }, options.deadlineMs);
    options.again?.then(() => {
      if (done) return;
      options.logger.error("Second stop signal: exiting at once");
      finish(130);
    });
    stop().then((clean) => finish(clean ? 0 : 1), (error) => {
      if (!done) options.logger.error("Stop failed", { error });
      finish(1);
    });
  });
}
