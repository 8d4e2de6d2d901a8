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
 * Listens for SIGINT and SIGTERM.
 *
 * @example
 * ```ts
 * const signals = listenForStop();
 * await signals.first;                 // orderly stop, within a deadline
 * signals.again.then(() => killAll()); // a second Ctrl-C: at once
 * ```
 */
export function listenForStop(): StopSignals {
  let received: Deno.Signal | undefined;
  let count = 0;
  let resolveFirst: (s: Deno.Signal) => void = () => {};
  let resolveAgain: (s: Deno.Signal) => void = () => {};
  const first = new Promise<Deno.Signal>((r) => (resolveFirst = r));
  const again = new Promise<Deno.Signal>((r) => (resolveAgain = r));
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const handler = () => {
      count++;
      if (count === 1) {
        received = sig;
        resolveFirst(sig);
      } else if (count === 2) resolveAgain(sig);
    };
    Deno.addSignalListener(sig, handler);
    return [sig, handler] as const;
  });
  return {
    first,
    again,
    get received() {
      return received;
    },
    close() {
      for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
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
