import { type Column, COLUMNS } from '../lib/columns.js';

/** Which columns the users table shows: a group of checkboxes, saved in localStorage by the caller. */
export function ColumnPicker({ chosen, onChange }: { chosen: Column[]; onChange(columns: Column[]): void }) {
  const toggle = (name: Column) => {
    const next = chosen.includes(name) ? chosen.filter((column) => column !== name) : [...chosen, name];
    // Kept in the table's order, whatever order they were ticked in.
    onChange(COLUMNS.map(([column]) => column).filter((column) => next.includes(column)));
  };
  return (
    <details class="columns">
      <summary>Columns</summary>
      <fieldset>
        <legend>Columns shown</legend>
        {COLUMNS.map(([name, label]) => (
          <label key={name} class="inline">
            <input type="checkbox" checked={chosen.includes(name)} onChange={() => toggle(name)} /> {label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
