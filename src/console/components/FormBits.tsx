/** A failure of the last request, read out to screen readers as it appears; nothing without one. */
export function ErrorText({ error }: { error: string | null }) {
  if (error === null) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

/** Checkboxes for a set of values, in `options` order. */
export function CheckboxGroup({
  legend,
  options,
  chosen,
  change,
}: {
  legend: string;
  options: readonly string[];
  chosen: string[];
  change: (chosen: string[]) => void;
}) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(option)}
            onChange={(event) =>
              change(event.target.checked ? [...chosen, option] : chosen.filter((value) => value !== option))
            }
          />
          {option}
        </label>
      ))}
    </fieldset>
  );
}
