import { csvCell, saveBlob } from '../lib/download.js';
import { TableBox } from './table-box.js';

/** One refused row of an import: its number, the field named in the error (when one is), and the error. */
export interface ReportRow {
  row: number;
  field: string;
  error: string;
}

/**
 * The service names the field of a schema error as `body/<field>` ("…invalid json schema, body/age
 * must be integer…"), or starts the error with it ("email must be…"): the field is read from that.
 */
export function fieldOf(error: string): string {
  return /\bbody\/([A-Za-z_$][\w$-]*)/.exec(error)?.[1] ?? /^([A-Za-z_$][\w$-]*) (?:must|is|has|should)\b/.exec(error)?.[1] ?? '';
}

export function reportRows(invalid: { row: number; error: string }[]): ReportRow[] {
  return invalid.map(({ row, error }) => ({ row, field: fieldOf(error), error }));
}

export function ImportReport({ rows }: { rows: ReportRow[] }) {
  if (rows.length === 0) return <p>Every row was imported.</p>;
  const downloadReport = () => {
    const lines = ['row,field,error', ...rows.map((row) => [row.row, row.field, row.error].map(csvCell).join(','))];
    saveBlob(new Blob([`${lines.join('\n')}\n`], { type: 'text/csv' }), 'import-report.csv');
  };
  return (
    <>
      <TableBox label="Rows refused by the import">
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
      </TableBox>
      <button type="button" onClick={downloadReport}>
        Download the report (CSV)
      </button>
    </>
  );
}
