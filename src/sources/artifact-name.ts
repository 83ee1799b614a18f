/** A name safe in an object key and a flag (`--only`): letters, digits, `.`, `_`, `-`. */
export function safeName(raw: string, fallback: string): string {
  return raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '') || fallback;
}
