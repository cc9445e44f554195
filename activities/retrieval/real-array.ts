/**
 * `real[]` read in PostgreSQL's binary array format (`array_send(col)`, a `bytea`) instead
 * of its text form: postgres.js parses `{0.0868,…}` number by number, and for a case's
 * vectors that parsing was most of the vector side's time (10 000 × 256: ~300 ms as text,
 * ~100 ms as binary, on the server). Works the same on both databases: `array_send` is core.
 *
 * Layout (src/backend/utils/adt/arrayfuncs.c, array_send): int32 ndim, int32 has-nulls,
 * oid element type, then per dimension int32 length and int32 lower bound, then per
 * element int32 byte length (-1: NULL) and the float4, all big-endian.
 */

const FLOAT4_OID = 700;

/** The vector, or undefined when it is not a one-dimensional float4 array without NULLs. */
export function decodeRealArray(bytes: Uint8Array): number[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12) return undefined;
  const ndim = view.getInt32(0);
  if (ndim === 0) return [];
  if (ndim !== 1 || view.getInt32(8) !== FLOAT4_OID || bytes.byteLength < 20) return undefined;
  const length = view.getInt32(12);
  if (bytes.byteLength !== 20 + length * 8) return undefined;
  const vector = new Array<number>(length);
  for (let i = 0, at = 20; i < length; i++, at += 8) {
    if (view.getInt32(at) !== 4) return undefined;
    vector[i] = view.getFloat32(at + 4);
  }
  return vector;
}
