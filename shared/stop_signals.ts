/**
 * Signals of a program with a bounded stop (`deno task services`, `deno task up`):
 * the first SIGINT or SIGTERM asks for an orderly stop, a second one for an
 * immediate one.
 */

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
