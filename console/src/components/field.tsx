import { cloneElement, isValidElement, type ComponentChildren, type VNode } from 'preact';
import { useId } from 'preact/hooks';

type ControlProps = { id?: string; 'aria-describedby'?: string; 'aria-invalid'?: string };

/**
 * A labelled control: the label names it by `for` (a label wrapping a select also took in its
 * options' text), and its hint and error describe it (`aria-describedby`), the error marking it
 * invalid, so every field says the same to a screen reader whatever the caller set.
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
  const own = useId();
  const hintId = `${own}-hint`;
  const shownErrorId = errorId ?? `${own}-error`;
  let controlId = own;
  let control = children;
  if (isValidElement(children)) {
    const props = children.props as ControlProps;
    controlId = props.id ?? own;
    const described = [props['aria-describedby'], hint && hintId, error && shownErrorId].filter(Boolean);
    control = cloneElement(children as VNode<ControlProps>, {
      id: controlId,
      'aria-describedby': [...new Set(described.join(' ').split(' '))].join(' ') || undefined,
      ...(error && { 'aria-invalid': 'true' }),
    });
  }
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={controlId}>
        <span class="label">{label}</span>
      </label>
      {control}
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p class="error" id={shownErrorId} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
