/**
 * The AWS SDK, loaded on first use: it is most of the bundle, and a run that never talks to S3
 * (a backup to a local folder) should not pay the ~80 ms it takes to load. esbuild puts a
 * dynamically imported module in a chunk of its own, so it is not even parsed until then.
 */
let sdk: Promise<typeof import('@aws-sdk/client-s3')> | undefined;
let storage: Promise<typeof import('@aws-sdk/lib-storage')> | undefined;

export const s3Sdk = (): Promise<typeof import('@aws-sdk/client-s3')> => (sdk ??= import('@aws-sdk/client-s3'));
export const libStorage = (): Promise<typeof import('@aws-sdk/lib-storage')> => (storage ??= import('@aws-sdk/lib-storage'));

export type S3Sdk = typeof import('@aws-sdk/client-s3');
