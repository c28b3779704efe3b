/**
 * One CSV cell (RFC 4180 quoting). A cell starting with = + - @ (or a tab/CR that some
 * spreadsheets skip) gets a leading ' so a spreadsheet shows it as text instead of running it.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== safe.trim() ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export const csvLine = (cells: string[]) => `${cells.map(csvCell).join(',')}\r\n`;
