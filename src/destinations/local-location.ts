import { UsageError } from '../shared/errors.js';
import { printable } from '../shared/text.js';
import { LocalDestination } from './local.js';
import { URL_HINT, withoutQuery, type DestinationFactory } from './location.js';

/** A folder path as typed. A path may hold '?', '#' or '@': it is a name, not a URL. */
export const localFactory: DestinationFactory = {
  scheme: '',
  form: '/path/to/folder',
  open(value) {
    if (value === '~' || value.startsWith('~/')) {
      throw new UsageError(`the destination "${printable(value)}" starts with ~, which is not expanded here`, 'use an absolute path or $HOME');
    }
    return new LocalDestination(value);
  },
};

/** `file:///path` (or `file://localhost/path`), percent-decoded. It takes no settings. */
export const fileFactory: DestinationFactory = {
  scheme: 'file',
  form: 'file:///path',
  open(value) {
    // Not shown: a query is no setting here, and may be a secret pasted in the wrong place.
    if (/[?#]/.test(value)) {
      throw new UsageError(`the destination ${printable(withoutQuery(value))} must not have a query or fragment: file:// locations take no settings (the rest is not shown)`, URL_HINT);
    }
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new UsageError(`the destination "${printable(value)}" is not a valid file URL`, URL_HINT);
    }
    if (parsed.hostname && parsed.hostname !== 'localhost') {
      throw new UsageError(`the destination "${printable(value)}" names host ${printable(parsed.hostname)}; file URLs must be local`, 'mount the share and give its local path');
    }
    return new LocalDestination(decodeURIComponent(parsed.pathname));
  },
};
