/** Where local services keep jars, compiled helpers and data: outside the repository. */

/** The cache root: `$IOT_CACHE_DIR`, else `$XDG_CACHE_HOME/iot-pipeline`, else `~/.cache/iot-pipeline`. */
export function cacheDir(): string {
  const explicit = Deno.env.get("IOT_CACHE_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/iot-pipeline`;
  const home = Deno.env.get("HOME") ?? "/tmp";
  return `${home}/.cache/iot-pipeline`;
}

/** Absolute path of a file in this folder (`dev/`). */
export function devFile(name: string): string {
  return new URL(name, import.meta.url).pathname;
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
