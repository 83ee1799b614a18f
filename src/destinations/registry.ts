import { fileFactory, localFactory } from './local-location.js';
import type { DestinationFactory } from './location.js';
import { s3Factory } from './s3-location.js';

/**
 * Every kind of store, by URL scheme. Adding one is a file exporting a DestinationFactory and
 * a line here; openDestination and every help text and hint find it through this list.
 */
export const destinationFactories: readonly DestinationFactory[] = [localFactory, fileFactory, s3Factory];

/** The factory for a scheme ('' for a plain path), or undefined when none serves it. */
export function findDestinationFactory(scheme: string): DestinationFactory | undefined {
  return destinationFactories.find((f) => f.scheme === scheme);
}
