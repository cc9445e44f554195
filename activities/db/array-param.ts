/**
 * One PostgreSQL array literal for a whole column of values, sent as a single text parameter
 * and cast in the statement (`${arrayParam(ids)}::uuid[]`), so a bulk write is
 * `unnest(...)` over a few parameters: the same statement text whatever the row count, prepared
 * once per connection, instead of a `values` list with a parameter per cell.
 */
export function arrayParam(values: readonly (string | number | boolean | null)[]): string {
  return `{${values.map(element).join(',')}}`;
}

/** Ids, numbers and ISO times, which need no quotes (nor can be read as NULL): most of what is sent. */
const BARE = /^[0-9A-Za-z][0-9A-Za-z.:+-]*$/;

function element(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v !== 'string') return String(v);
  if (BARE.test(v) && v.toUpperCase() !== 'NULL') return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
