/**
 * Type and location filters as a plain GET form: they live in the URL and work without JavaScript.
 * The options are the types and locations discovered in the data (`web/vocabulary.ts`).
 */
import type { VNode } from "preact";
import { filterOptions } from "../lib/vocabulary.ts";

/** Props of `FilterForm`. */
export interface FilterFormProps {
  action: string;
  /** Sensor types to offer (as discovered in the data). */
  types: readonly string[];
  /** Locations to offer (as discovered in the data). */
  locations: readonly string[];
  type?: string;
  location?: string;
}

/** The filter form; a selected value the data lacks is still offered, so the form keeps it. */
export function FilterForm(props: FilterFormProps): VNode {
  return (
    <form class="filters" method="get" action={props.action}>
      <label>
        Type{" "}
        <select name="type" data-testid="filter-type">
          <option value="">all</option>
          {filterOptions(props.types, props.type).map((t) => (
            <option key={t} value={t} selected={t === props.type}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Location{" "}
        <select name="location" data-testid="filter-location">
          <option value="">all</option>
          {filterOptions(props.locations, props.location).map((l) => (
            <option key={l} value={l} selected={l === props.location}>{l}</option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
      {(props.type || props.location) && <a href={props.action}>clear</a>}
    </form>
  );
}
