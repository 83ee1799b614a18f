/**
 * age writes unpadded standard base64 and requires it to be canonical: no '=' padding, no
 * whitespace, and no stray bits in the last character. Node's decoder is lenient about all
 * three, so decoding re-encodes and compares: anything that doesn't round-trip is rejected.
 */
const ALPHABET = /^[A-Za-z0-9+/]*$/;

export function encodeBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64').replace(/=+$/, '');
}

/** The decoded bytes, or null when `text` is not canonical unpadded base64. */
export function decodeBase64(text: string): Buffer | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, 'base64');
  return encodeBase64(bytes) === text ? bytes : null;
}
