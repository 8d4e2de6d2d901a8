/**
 * Server half of the islands layer. Components registered as islands are
 * swapped, at element creation, for a boundary that renders them inside a
 * marker element and records their props; `renderPage` then appends the props
 * and, only when an island rendered, the client boot script. An island rendered
 * inside another island is plain markup of its parent (the parent hydrates it).
 */
import { type ComponentChildren, type ComponentType, createContext, h, options, type VNode } from "preact";
import { useContext } from "preact/hooks";
import { renderToString } from "preact-render-to-string";
import { serializeProps } from "./serialize.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const registry = new Map<AnyComponent, string>();

/** Marks a component as an island under a name (its bundle's name). */
export function registerIsland(name: string, component: AnyComponent): void {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new TypeError(`Island name "${name}" must be PascalCase`);
  registry.set(component, name);
}

/** Names of the registered islands. */
export function islandNames(): string[] {
  return [...new Set(registry.values())];
}

/** One island occurrence on a page. */
export interface IslandInstance {
  id: number;
  name: string;
  props: Record<string, unknown>;
}

interface RenderState {
  islands: IslandInstance[];
}

let current: RenderState | undefined;
let bypass = false;
const InsideIsland = createContext(false);

interface BoundaryProps {
  island: { name: string; component: AnyComponent };
  props: Record<string, unknown>;
}

function IslandBoundary({ island, props }: BoundaryProps): VNode {
  const inside = useContext(InsideIsland);
  bypass = true;
  let inner: VNode;
  try {
    inner = h(island.component, props);
  } finally {
    bypass = false;
  }
  if (inside || !current) return inner;
  const id = current.islands.length;
  const { children: _children, ...data } = props;
  current.islands.push({ id, name: island.name, props: data });
  return h(
    "div",
    { "data-island": island.name, "data-island-id": String(id) },
    h(InsideIsland.Provider, { value: true }, inner),
  ) as VNode;
}

const previousVnodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  if (!bypass && typeof vnode.type === "function") {
    const name = registry.get(vnode.type as AnyComponent);
    if (name) {
      const component = vnode.type as AnyComponent;
      const props = vnode.props as Record<string, unknown>;
      (vnode as { type: unknown }).type = IslandBoundary;
      (vnode as { props: unknown }).props = { island: { name, component }, props };
    }
  }
  previousVnodeHook?.(vnode);
};

/** URLs of the built client files. */
export interface ClientAssets {
  /** The boot module. */
  boot: string;
  /** Island name → module URL. */
  islands: Record<string, string>;
}

/** Options of `renderPage`. */
export interface RenderPageOptions {
  /** The CSP nonce put on every inline script. */
  nonce: string;
  /** Client bundles; without them islands stay static server-rendered markup (no boot script). */
  assets?: ClientAssets;
}

/** The result of rendering a page. */
export interface RenderedPage {
  html: string;
  islands: IslandInstance[];
}

/** Id of the props element the client boot reads. */
export const PROPS_ELEMENT_ID = "__island_props";

/**
 * Renders a page element (a full `<html>` tree) to a document. When islands
 * rendered, appends their serialised props and the boot script (both with the nonce)
 * before `</body>`.
 */
export function renderPage(page: VNode, options: RenderPageOptions): RenderedPage {
  const previous = current;
  const state: RenderState = { islands: [] };
  current = state;
  let body: string;
  try {
    body = renderToString(page);
  } finally {
    current = previous;
  }
  let tail = "";
  if (state.islands.length > 0 && options.assets) {
    const nonce = escapeAttr(options.nonce);
    const used = [...new Set(state.islands.map((i) => i.name))];
    const modules: Record<string, string> = {};
    for (const name of used) {
      const url = options.assets.islands[name];
      if (!url) throw new Error(`No client bundle for island ${name}`);
      modules[name] = url;
    }
    tail = `<script type="application/json" id="${PROPS_ELEMENT_ID}" nonce="${nonce}">` +
      serializeProps({ islands: state.islands, modules }) + `</script>` +
      `<script type="module" nonce="${nonce}" src="${escapeAttr(options.assets.boot)}"></script>`;
  }
  const at = body.lastIndexOf("</body>");
  const html = "<!DOCTYPE html>" + (at >= 0 ? body.slice(0, at) + tail + body.slice(at) : body + tail);
  return { html, islands: state.islands };
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Children type re-exported for pages. */
export type { ComponentChildren };
