// CIS GCP 4.5: serial-port-enable set on the instance wins over the project's value; TRUE/true/1 enable it
// (https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-using-serial-console).
import { instance } from '../../test/engine/factories.js';
import { policyTester } from '../../test/policies/tester.js';

const vm = (metadata?: Record<string, string>) => ({ ...instance(), ...(metadata ? { metadata } : {}) });
const project = (value?: string) => [{ provider: 'gcp' as const, scope: 'p1', status: 'ok' as const, ...(value ? { metadata: { 'serial-port-enable': value } } : {}) }];

policyTester('gcp-serial-port-enabled', [
  { name: 'TRUE on the instance', instances: [vm({ 'serial-port-enable': 'TRUE' })], expect: { status: 'fail', message: /serial-port-enable=TRUE on the instance/ } },
  { name: '1 on the instance', instances: [vm({ 'serial-port-enable': '1' })], expect: { status: 'fail' } },
  { name: 'TRUE in the project, nothing on the instance: inherited', instances: [vm()], scopes: project('TRUE'), expect: { status: 'fail', message: /in the metadata of p1/ } },
  { name: 'TRUE in the project, FALSE on the instance: the instance wins', instances: [vm({ 'serial-port-enable': 'FALSE' })], scopes: project('TRUE'), expect: { status: 'pass' } },
  { name: 'not set anywhere', instances: [vm()], scopes: project(), expect: { status: 'pass' } },
  { name: 'an AWS instance is not selected', instances: [{ ...vm({ 'serial-port-enable': 'TRUE' }), provider: 'aws' as const }], expect: 'none' },
]);
