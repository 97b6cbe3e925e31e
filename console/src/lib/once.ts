import { useRef, useState } from 'preact/hooks';

/**
 * One run at a time of a form's or button's action: a double click, or a second Enter before the
 * first answer, is ignored (a user was created twice: the second answered "already exists" on the
 * page of the user just created). Answers whether a run is under way, to disable the control.
 */
export function useOnce(): [boolean, (action: () => Promise<unknown>) => Promise<void>] {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  async function once(action: () => Promise<unknown>): Promise<void> {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try {
      await action();
    } finally {
      running.current = false;
      setBusy(false);
    }
  }
  return [busy, once];
}
