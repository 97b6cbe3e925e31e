/** Saves a blob as a file through a temporary link (no new window, no inline script). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A REST download with the session cookie (the export has no GraphQL equivalent). */
export async function download(url: string, accept: string, filename: string): Promise<void> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new Error(body.message ?? `The export failed (${response.status})`);
  }
  saveBlob(await response.blob(), filename);
}

/** A CSV cell: quoted when it needs to be; formula-looking cells neutralized for spreadsheets. */
export function csvCell(value: unknown): string {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
