import type { FormField, FormValue } from '../lib/schema-form.js';
import { Field } from './field.js';

const INPUT_TYPE: Record<string, 'number' | 'date' | 'datetime-local' | 'email'> = {
  number: 'number',
  integer: 'number',
  date: 'date',
  'date-time': 'datetime-local',
  email: 'email',
};

/** One control per field of the group's schema, each labelled and with its error next to it. */
export function ProfileFields({
  fields,
  values,
  errors,
  onChange,
}: {
  fields: FormField[];
  values: Map<string, FormValue>;
  errors: Map<string, string>;
  onChange(name: string, value: FormValue): void;
}) {
  return (
    <fieldset>
      <legend>Profile</legend>
      {fields.length === 0 && <p class="hint">The group's schema defines no other field.</p>}
      {fields.map((field) => (
        <FieldControl key={field.name} field={field} value={values.get(field.name)} error={errors.get(field.name)} onChange={onChange} />
      ))}
    </fieldset>
  );
}

function FieldControl({
  field,
  value,
  error,
  onChange,
}: {
  field: FormField;
  value: FormValue | undefined;
  error: string | undefined;
  onChange(name: string, value: FormValue): void;
}) {
  const errorId = `error-${field.name}`;
  const common = {
    name: field.name,
    required: field.required && field.kind !== 'boolean',
    'aria-invalid': error ? ('true' as const) : undefined,
    'aria-describedby': error ? errorId : undefined,
  };
  const label = `${field.label}${field.required ? ' (required)' : ''}`;
  if (field.kind === 'boolean') {
    return (
      <Field label={label} error={error} errorId={errorId} hint={field.description}>
        <input
          type="checkbox"
          {...common}
          checked={value === true}
          onChange={(event) => onChange(field.name, event.currentTarget.checked)}
        />
      </Field>
    );
  }
  if (field.kind === 'enum') {
    return (
      <Field label={label} error={error} errorId={errorId} hint={field.description}>
        <select {...common} value={String(value ?? '')} onChange={(event) => onChange(field.name, event.currentTarget.value)}>
          <option value="">—</option>
          {field.options?.map((option) => (
            <option key={option}>{option}</option>
          ))}
        </select>
      </Field>
    );
  }
  if (field.kind === 'array' && field.items === 'enum') {
    const chosen = Array.isArray(value) ? value : [];
    const toggle = (option: string) =>
      onChange(field.name, chosen.includes(option) ? chosen.filter((item) => item !== option) : [...chosen, option]);
    return (
      <fieldset aria-describedby={error ? errorId : undefined}>
        <legend>{label}</legend>
        {field.options?.map((option) => (
          <label key={option} class="inline">
            <input type="checkbox" checked={chosen.includes(option)} onChange={() => toggle(option)} /> {option}
          </label>
        ))}
        {error && (
          <p class="error" id={errorId} role="alert">
            {error}
          </p>
        )}
      </fieldset>
    );
  }
  if (field.kind === 'array' || field.kind === 'json') {
    const hint = field.kind === 'array' ? 'One item per line.' : 'JSON.';
    return (
      <Field label={label} error={error} errorId={errorId} hint={field.description ? `${field.description} ${hint}` : hint}>
        <textarea {...common} rows={4} value={String(value ?? '')} onInput={(event) => onChange(field.name, event.currentTarget.value)} />
      </Field>
    );
  }
  return (
    <Field label={label} error={error} errorId={errorId} hint={field.description}>
      <input
        {...common}
        type={(INPUT_TYPE[field.kind] ?? 'text') as 'text'}
        step={field.kind === 'number' ? 'any' : undefined}
        min={field.min}
        max={field.max}
        minLength={field.minLength}
        maxLength={field.maxLength}
        pattern={field.pattern}
        value={String(value ?? '')}
        onInput={(event) => onChange(field.name, event.currentTarget.value)}
      />
    </Field>
  );
}
