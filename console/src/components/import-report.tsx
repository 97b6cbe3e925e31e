import { csvCell, saveBlob } from '../lib/download.js';

/** One refused row of an import: its number, the field named in the error (when one is), and the error. */
export interface ReportRow {
  row: number;
  field: string;
  error: string;
}

/** The service words a row's error as `<field> <problem>` or `body/<field> <problem>`: the field is read from it. */
export function reportRows(invalid: { row: number; error: string }[]): ReportRow[] {
  return invalid.map(({ row, error }) => {
    const field = /^(?:body\/)?([A-Za-z_$][\w.$-]*)(?:\/[\w/.$-]+)? (?:must|is|has|should|does)/.exec(error)?.[1] ?? '';
    return { row, field, error };
  });
}

export function ImportReport({ rows }: { rows: ReportRow[] }) {
  if (rows.length === 0) return <p>Every row was imported.</p>;
  const downloadReport = () => {
    const lines = ['row,field,error', ...rows.map((row) => [row.row, row.field, row.error].map(csvCell).join(','))];
    saveBlob(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }), 'import-report.csv');
  };
  return (
    <>
      <table>
        <caption>Rows refused by the import</caption>
        <thead>
          <tr>
            <th scope="col">Row</th>
            <th scope="col">Field</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.row}>
              <td>{row.row}</td>
              <td>{row.field || '—'}</td>
              <td>{row.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" onClick={downloadReport}>
        Download the report (CSV)
      </button>
    </>
  );
}
