/** Type and location filters as a plain GET form: they live in the URL and work without JavaScript. */
import type { VNode } from "preact";
import { LOCATIONS, SENSOR_TYPES } from "@iot/shared";

/** Props of `FilterForm`. */
export interface FilterFormProps {
  action: string;
  type?: string;
  location?: string;
}

/** The filter form. */
export function FilterForm(props: FilterFormProps): VNode {
  return (
    <form class="filters" method="get" action={props.action}>
      <label>
        Type{" "}
        <select name="type">
          <option value="">all</option>
          {SENSOR_TYPES.map((t) => <option key={t} value={t} selected={t === props.type}>{t}</option>)}
        </select>
      </label>
      <label>
        Location{" "}
        <select name="location">
          <option value="">all</option>
          {LOCATIONS.map((l) => <option key={l} value={l} selected={l === props.location}>{l}</option>)}
        </select>
      </label>
      <button type="submit">Apply</button>
      {(props.type || props.location) && <a href={props.action}>clear</a>}
    </form>
  );
}
