// A metadata key that must not be set to a value, read on the instance and, when it is absent there, on its
// scope (GCE: instance metadata overrides project-wide metadata, and `serial-port-enable` accepts TRUE/true/1,
// https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-using-serial-console).
import type { CheckType } from '../types.js';
import { instanceOf } from './util.js';

export interface FlagParams {
  key: string;
  forbidden: string[];
  /** Read the scope's (project's) metadata when the instance does not set the key. */
  inherit?: boolean;
}

export const metadataFlag: CheckType<FlagParams> = {
  meta: {
    id: 'metadata-flag',
    description: 'fails when a metadata key of the instance (or, inherited, of its project) has a forbidden value (case-insensitive)',
    resource: 'instance',
    params: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'forbidden'],
      properties: { key: { type: 'string', minLength: 1 }, forbidden: { type: 'array', items: { type: 'string' }, minItems: 1 }, inherit: { type: 'boolean' } },
    },
  },
  check(resource, { params, run }) {
    const instance = instanceOf(resource, 'metadata-flag');
    const own = instance.metadata?.[params.key];
    const scope = run.inventory.scopes.find((s) => s.provider === instance.provider && s.scope === instance.scope);
    const inherited = params.inherit !== false ? scope?.metadata?.[params.key] : undefined;
    const value = own ?? inherited;
    const where = own !== undefined ? 'on the instance' : `in the metadata of ${instance.scope}`;
    if (value === undefined) return { status: 'pass', message: `${params.key} is not set` };
    if (params.forbidden.some((f) => f.toLowerCase() === value.trim().toLowerCase())) return { status: 'fail', message: `${params.key}=${value} ${where}` };
    return { status: 'pass', message: `${params.key}=${value} ${where}` };
  },
};
