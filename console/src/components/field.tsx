import type { ComponentChildren } from 'preact';

/**
 * A labelled control: the label wraps it, so every input, select and textarea has an accessible
 * name. An error is tied to the control by aria-describedby (the caller passes the id) and shown next to it.
 */
export function Field({
  label,
  children,
  error,
  errorId,
  hint,
}: {
  label: string;
  children: ComponentChildren;
  error?: string | undefined;
  errorId?: string;
  hint?: string | undefined;
}) {
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label>
        <span class="label">{label}</span>
        {children}
      </label>
      {hint && <p class="hint">{hint}</p>}
      {error && (
        <p class="error" id={errorId} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
