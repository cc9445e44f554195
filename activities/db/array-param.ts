/**
 * One PostgreSQL array literal for a whole column of values, sent as a single text parameter
 * and cast in the statement (`${arrayParam(ids)}::uuid[]`), so a bulk write is
 * `unnest(...)` over a few parameters: the same statement text whatever the row count, prepared
 * once per connection, instead of a `values` list with a parameter per cell.
 */
export function arrayParam(values: readonly (string | number | boolean | null)[]): string {
  return `{${values.map(element).join(',')}}`;
}

function element(v: string | number | boolean | null): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return String(v);
}
