// The AWS SDK packages, loaded with require() when first used. They are CommonJS: import() would make Node
// first scan each file for ESM syntax and lex its exports (client-ec2 is one 2 MB file: ~150 ms and ~20 MB
// at every start), and Organizations (--all-accounts) and the INI credential provider (--profile) are not
// needed by most runs at all. require() also gives the very module instances the SDK uses internally
// (@smithy/core's CommonJS build, not its ESM twin).
import { lazyRequire as once } from '../../src/lazy.js';

type Ec2 = typeof import('@aws-sdk/client-ec2');
type Sts = typeof import('@aws-sdk/client-sts');
type Ssm = typeof import('@aws-sdk/client-ssm');
type Organizations = typeof import('@aws-sdk/client-organizations');
type CredentialProviders = typeof import('@aws-sdk/credential-providers');
type SmithySchema = typeof import('@smithy/core/schema');
type SmithyRetry = typeof import('@smithy/core/retry');
type SignatureV4 = typeof import('@smithy/signature-v4');

export const ec2Sdk = once<Ec2>('@aws-sdk/client-ec2');
export const stsSdk = once<Sts>('@aws-sdk/client-sts');
export const ssmSdk = once<Ssm>('@aws-sdk/client-ssm');
export const organizationsSdk = once<Organizations>('@aws-sdk/client-organizations');
export const credentialProviders = once<CredentialProviders>('@aws-sdk/credential-providers');
export const smithySchema = once<SmithySchema>('@smithy/core/schema');
export const smithyRetry = once<SmithyRetry>('@smithy/core/retry');
export const signatureV4 = once<SignatureV4>('@smithy/signature-v4');
