/**
 * The AWS SDK, loaded on first use: it is most of the bundle, and a run that never talks to S3
 * (a backup to a local folder) should not pay the ~65 ms it takes to load. esbuild puts a
 * dynamically imported module in a chunk of its own, so it is not even parsed until then.
 */
export type S3Sdk = typeof import('@aws-sdk/client-s3');
type LibStorage = typeof import('@aws-sdk/lib-storage');

let sdk: Promise<S3Sdk> | undefined;
let storage: Promise<LibStorage> | undefined;

/**
 * A CommonJS package imported dynamically: Node gives its exports as named exports (and as
 * `default`), esbuild's bundle only as `default`; both have `default`.
 */
const commonJs = <T>(m: T): T => (m as { default?: T }).default ?? m;

export const s3Sdk = (): Promise<S3Sdk> => (sdk ??= import('@aws-sdk/client-s3').then(commonJs));
export const libStorage = (): Promise<LibStorage> => (storage ??= import('@aws-sdk/lib-storage').then(commonJs));
