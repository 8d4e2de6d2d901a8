/**
 * Client half of the islands layer (bundled for the browser): reads the props
 * element, loads each island's module and hydrates it in its marker element.
 */
import { type ComponentType, h, hydrate } from "preact";
import { deserializeProps } from "./serialize.ts";

interface IslandData {
  islands: { id: number; name: string; props: Record<string, unknown> }[];
  modules: Record<string, string>;
}

/** Hydrates every island on the page. */
export async function boot(doc: Document = document): Promise<void> {
  const el = doc.getElementById("__island_props");
  if (!el?.textContent) return;
  const data = deserializeProps<IslandData>(el.textContent);
  const modules = new Map<string, Promise<{ default: ComponentType<Record<string, unknown>> }>>();
  await Promise.all(data.islands.map(async (island) => {
    const url = data.modules[island.name];
    if (!modules.has(url)) modules.set(url, import(url));
    const mod = await modules.get(url)!;
    const target = doc.querySelector(`[data-island-id="${island.id}"]`);
    if (!target) return;
    hydrate(h(mod.default, island.props), target);
    target.setAttribute("data-hydrated", "true");
  }));
  doc.documentElement.setAttribute("data-islands-ready", "true");
}

if (typeof document !== "undefined") {
  boot().catch((e) => console.error("island boot failed", e));
}
