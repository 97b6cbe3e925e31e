import type { ComponentChildren } from 'preact';

/**
 * A table's own horizontal scroll: on a narrow screen the table scrolls in this box, not the whole
 * page. Named and focusable, so a keyboard user can scroll it with the arrow keys.
 */
export function TableBox({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-box" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
