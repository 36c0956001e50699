// The JSON report's schema (draft-07), version REPORT_SCHEMA_VERSION: what `--format json` promises to
// programs and what `--baseline` and `merge` read back. The README's "JSON report" section documents it; a test
// validates real reports against it.
import { PROVIDERS } from './inventory.js';
import { REPORT_SCHEMA_VERSION, SEVERITIES } from './results.js';

const str = { type: 'string' };
const strings = { type: 'array', items: str };
const severity = { enum: [...SEVERITIES] };
const resource = {
  type: 'object',
  required: ['provider', 'scope', 'location', 'instance', 'instanceId'],
  properties: { provider: { enum: [...PROVIDERS, 'host'] }, scope: str, location: str, instance: str, instanceId: str, kind: { enum: ['rule-set', 'listener'] }, ref: str },
};
const reason = {
  type: 'object',
  required: ['layer', 'rule', 'action', 'why'],
  properties: { layer: str, rule: str, action: { enum: ['allow', 'deny', 'unknown'] }, priority: { type: 'number' }, why: str, ruleSet: str, ranges: strings, target: str },
};
const finding = {
  type: 'object',
  required: ['policyId', 'severity', 'status', 'resource', 'message'],
  properties: {
    policyId: str,
    severity,
    status: { enum: ['pass', 'fail', 'not-applicable', 'error'] },
    resource,
    message: str,
    source: str,
    rules: strings,
    ruleLabels: strings,
    remediation: str,
    suppressed: { type: 'object', required: ['reason', 'expires'], properties: { reason: str, expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } } },
    baseline: { enum: ['new', 'unchanged'] },
  },
};

export const reportSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: `rdpcloud audit report, schemaVersion ${REPORT_SCHEMA_VERSION}`,
  type: 'object',
  required: ['schemaVersion', 'tool', 'generatedAt', 'port', 'sources', 'scopes', 'instances', 'results', 'findings', 'policies'],
  properties: {
    schemaVersion: { const: REPORT_SCHEMA_VERSION },
    tool: { type: 'object', required: ['name', 'version'], properties: { name: str, version: str } },
    generatedAt: { type: 'string', format: 'date-time' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    sources: strings,
    scopes: {
      type: 'array',
      items: { type: 'object', required: ['provider', 'scope', 'status'], properties: { provider: { enum: [...PROVIDERS] }, scope: str, status: { enum: ['ok', 'failed'] }, error: str, warnings: strings } },
    },
    instances: {
      type: 'array',
      items: {
        type: 'object',
        required: ['provider', 'scope', 'location', 'instance', 'instanceId', 'state', 'os', 'access', 'externalAddresses'],
        properties: {
          ...resource.properties,
          state: str,
          os: { enum: ['windows', 'linux', 'unknown'] },
          access: { enum: ['exposed', 'gateway-only', 'private-only', 'unreachable'] },
          gateway: str,
          externalAddresses: strings,
        },
      },
    },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['provider', 'scope', 'location', 'instance', 'instanceId', 'state', 'source', 'port', 'verdict', 'allowedRanges', 'reasons'],
        properties: { ...resource.properties, state: str, source: str, port: { type: 'integer' }, verdict: { enum: ['reachable', 'partial', 'blocked', 'unknown'] }, allowedRanges: strings, reasons: { type: 'array', items: reason } },
      },
    },
    findings: { type: 'array', items: finding },
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'title', 'severity', 'pack', 'description', 'checkType', 'resource', 'compliance', 'references', 'remediation', 'file'],
        properties: {
          id: str,
          title: str,
          severity,
          pack: str,
          description: str,
          checkType: str,
          resource: { enum: ['instance', 'rule-set', 'listener'] },
          compliance: { type: 'array', items: { type: 'object', required: ['framework', 'version', 'id', 'title'], properties: { framework: str, version: str, id: str, title: str } } },
          references: strings,
          remediation: { type: 'object', properties: { gcp: str, aws: str, azure: str }, additionalProperties: false },
          file: str,
        },
      },
    },
    drift: {
      type: 'object',
      required: ['baseline', 'baselineGeneratedAt', 'new', 'unchanged', 'fixed'],
      properties: { baseline: str, baselineGeneratedAt: str, new: { type: 'integer' }, unchanged: { type: 'integer' }, fixed: { type: 'array', items: finding } },
    },
  },
};
