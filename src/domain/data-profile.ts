import { clip } from './clip';
import type { ArtifactRef } from './types';

/** The formats the sandbox's profiler tells apart. */
export type DataFormat = 'csv' | 'tsv' | 'json' | 'jsonl' | 'excel' | 'parquet' | 'empty' | 'binary';

export interface ColumnProfile {
  name: string;
  /** pandas' dtype: int64, float64, object, bool, datetime64[ns], … */
  dtype: string;
  missing: number;
  examples: unknown[];
  min?: unknown;
  max?: unknown;
  distinct?: number;
}

/** What the profiler found in one file, as it writes it (the profile artifact holds these). */
export interface FileProfile {
  name: string;
  size: number;
  format?: DataFormat;
  encoding?: string;
  delimiter?: string;
  decimal?: string;
  rows?: number;
  columnCount?: number;
  columns?: ColumnProfile[];
  columnsLeftOut?: number;
  /** Excel: every sheet, and the one profiled (the first). */
  sheets?: string[];
  sheet?: string;
  /** JSON: the top-level keys of an object, and the key of the table profiled, if any. */
  keys?: string[];
  table?: string;
  sample?: string;
  /** Why the file could not be read, when it could not. */
  error?: string;
}

/** The part of a file's profile the snapshot shows: no examples, no sample. */
export interface FileProfileSummary {
  name: string;
  size: number;
  format: DataFormat | null;
  encoding?: string;
  delimiter?: string;
  rows?: number;
  columnCount?: number;
  columns?: Array<{ name: string; dtype: string; missing: number }>;
  error?: string;
}

/** The profile of an execution's files: the artifact with every detail, and what the snapshot shows. */
export interface DataProfile {
  artifact: ArtifactRef | null;
  files: FileProfileSummary[];
}

/** Columns the snapshot lists per file; the artifact has up to the profiler's own limit. */
const SUMMARY_COLUMNS = 30;

export function summarizeProfile(profile: FileProfile): FileProfileSummary {
  return {
    name: profile.name,
    size: profile.size,
    format: profile.format ?? null,
    ...(profile.encoding ? { encoding: profile.encoding } : {}),
    ...(profile.delimiter ? { delimiter: profile.delimiter } : {}),
    ...(profile.rows !== undefined ? { rows: profile.rows } : {}),
    ...(profile.columnCount !== undefined ? { columnCount: profile.columnCount } : {}),
    ...(profile.columns
      ? {
          columns: profile.columns
            .slice(0, SUMMARY_COLUMNS)
            .map(({ name, dtype, missing }) => ({ name, dtype, missing })),
        }
      : {}),
    ...(profile.error ? { error: profile.error } : {}),
  };
}

const FORMAT_NAMES: Record<DataFormat, string> = {
  csv: 'CSV',
  tsv: 'TSV (tab-separated)',
  json: 'JSON',
  jsonl: 'JSON lines',
  excel: 'Excel workbook',
  parquet: 'Parquet',
  empty: 'empty',
  binary: 'binary',
};

/** A file's profile as the prompts quote it: plain lines a model reads well. */
export function describeProfile(profile: FileProfile): string {
  const lines: string[] = [];
  const format = profile.format ? FORMAT_NAMES[profile.format] : 'unknown format';
  const details = [
    profile.delimiter && profile.format === 'csv' ? `delimiter ${JSON.stringify(profile.delimiter)}` : null,
    profile.decimal && profile.decimal !== '.' ? `decimal mark ${JSON.stringify(profile.decimal)}` : null,
    profile.encoding ? `encoding ${profile.encoding}` : null,
    profile.sheet ? `sheet ${JSON.stringify(profile.sheet)} of ${profile.sheets?.length ?? 1}` : null,
    profile.table ? `table under key ${JSON.stringify(profile.table)}` : null,
  ].filter((part): part is string => part !== null);
  lines.push(`Format: ${format}${details.length > 0 ? ` (${details.join(', ')})` : ''}`);
  if (profile.error) lines.push(`Could not be read in the sandbox: ${profile.error}`);
  if (profile.rows !== undefined) lines.push(`Rows: ${profile.rows}; columns: ${profile.columnCount ?? 0}`);
  for (const column of profile.columns ?? []) {
    const range = column.min !== undefined ? `, from ${show(column.min)} to ${show(column.max)}` : '';
    const distinct = column.distinct !== undefined ? `, ${column.distinct} distinct` : '';
    const examples = column.examples.length > 0 ? `; e.g. ${column.examples.map(show).join(', ')}` : '';
    lines.push(
      `- ${JSON.stringify(column.name)}: ${column.dtype}, ${column.missing} missing${range}${distinct}${examples}`,
    );
  }
  if (profile.columnsLeftOut) lines.push(`- … and ${profile.columnsLeftOut} more columns`);
  if (profile.keys && !profile.columns) lines.push(`Top-level keys: ${profile.keys.join(', ')}`);
  if (profile.sample) lines.push(`First rows:\n${profile.sample.trimEnd()}`);
  return lines.join('\n');
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(clip(value, 40)) : String(value);
}
