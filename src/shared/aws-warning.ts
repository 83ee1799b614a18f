/**
 * The AWS SDK prints a NodeVersionSupportWarning ("versions published after January 2027 will
 * require node >= 22") on the first S3 client of a Node 20 process. Strongbox supports
 * Node >= 20 and pins its SDK, so the notice is ours to act on, not our users'. The SDK's own
 * switch (read in @aws-sdk/core emitWarningIfUnsupportedVersion) turns off exactly that
 * warning and no other; a value the user set is left alone.
 */
export const AWS_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export function quietAwsNodeVersionWarning(env: NodeJS.ProcessEnv = process.env): void {
  if (env[AWS_NODE_WARNING_SWITCH] === undefined) env[AWS_NODE_WARNING_SWITCH] = 'true';
}
