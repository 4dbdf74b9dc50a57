// A form of one text field and a button, as the chat page uses three times
// (new chat title, member to add, message to send): a blank entry is not
// submitted, and the field empties once the submission succeeded.
import { useState, type FormEvent } from "react";

type Props = {
  testId: string;
  placeholder: string;
  button: string;
  className?: string;
  /** Whether to trim the entry before handing it over (a message keeps its spacing). */
  trim: boolean;
  onSubmit: (value: string) => Promise<void>;
};

export function SingleFieldForm({ testId, placeholder, button, className, trim, onSubmit }: Props) {
  const [value, setValue] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!value.trim()) return;
    await onSubmit(trim ? value.trim() : value);
    setValue("");
  }

  return (
    <form className={className} onSubmit={(e) => void submit(e)}>
      <input
        data-testid={testId}
        placeholder={placeholder}
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit">{button}</button>
    </form>
  );
}
