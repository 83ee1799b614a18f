/**
 * Text from a manifest (labels, metadata, artifact names, alert messages) is user text: every
 * piece of it goes into HTML or SVG through this, as element text or a double-quoted attribute.
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** For element text only (a job summary's cells and lines): `'` stays readable where no attribute can be closed by it. */
export function escapeHtmlText(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
