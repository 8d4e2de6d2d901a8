/** Header badge: connection state and whether change streams or polling feed the page. */
import type { VNode } from "preact";
import { modes, status } from "../client/live.ts";

const LABEL = { off: "static", connecting: "connecting", live: "live", offline: "reconnecting" } as const;

/** The live status badge. */
export default function LiveStatus(): VNode {
  const m = Object.values(modes.value);
  const mode = m.length === 0
    ? "–"
    : m.every((x) => x === "change-stream")
    ? "change streams"
    : m.includes("polling")
    ? "polling"
    : "starting";
  return (
    <div class={`status ${status.value}`} data-testid="live-status" data-status={status.value} data-mode={mode}>
      <span class="dot" />
      <span>{LABEL[status.value]}</span>
      <span class="mode" title="How the server receives changes from MongoDB">{mode}</span>
    </div>
  );
}
