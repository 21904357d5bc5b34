import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyDocumentError } from '../../../domain/inventory/errors';
import { normalizePolicyDocument, policyDocumentsEqual } from '../../../domain/inventory/policy-document';
import { sharedFixture } from '../../support/shared-fixtures';

describe('policy documents compare semantically', () => {
  it('matches the URL-encoded trust policy IAM returned with the JSON the caller sent (real CloudTrail CreateRole)', () => {
    const records = JSON.parse(
      readFileSync(
        sharedFixture(
          'cloudtrail',
          'stratus-red-team__docs__detonation-logs__aws.persistence.iam-create-backdoor-role.json',
        ),
        'utf8',
      ),
    ) as {
      eventName: string;
      requestParameters: { assumeRolePolicyDocument: string };
      responseElements: { role: { assumeRolePolicyDocument: string } };
    }[];
    const create = records.find((r) => r.eventName === 'CreateRole');
    expect(create?.responseElements.role.assumeRolePolicyDocument.startsWith('%7B')).toBe(true);
    expect(
      policyDocumentsEqual(
        create?.requestParameters.assumeRolePolicyDocument,
        create?.responseElements.role.assumeRolePolicyDocument,
      ),
    ).toBe(true);
  });

  const base = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };

  it.each([
    ['pretty-printed', JSON.stringify(base, null, 4)],
    ['URL-encoded', encodeURIComponent(JSON.stringify(base))],
    [
      'Action as a list',
      JSON.stringify({ ...base, Statement: [{ ...base.Statement[0], Action: ['sts:AssumeRole'] }] }),
    ],
    [
      'Principal value as a list',
      JSON.stringify({
        ...base,
        Statement: [{ ...base.Statement[0], Principal: { Service: ['ec2.amazonaws.com'] } }],
      }),
    ],
    ['Statement as an object', JSON.stringify({ ...base, Statement: base.Statement[0] })],
    [
      'keys reordered',
      JSON.stringify({
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } },
        ],
        Version: '2012-10-17',
      }),
    ],
  ])('treats %s as the same document', (_label, variant) => {
    expect(policyDocumentsEqual(JSON.stringify(base), variant)).toBe(true);
  });

  it.each([
    [
      'another principal',
      {
        ...base,
        Statement: [{ ...base.Statement[0], Principal: { AWS: 'arn:aws:iam::193672423079:root' } }],
      },
    ],
    [
      'an extra statement',
      {
        ...base,
        Statement: [
          ...base.Statement,
          { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' },
        ],
      },
    ],
    ['Deny instead of Allow', { ...base, Statement: [{ ...base.Statement[0], Effect: 'Deny' }] }],
  ])('sees %s as a difference', (_label, variant) => {
    expect(policyDocumentsEqual(JSON.stringify(base), JSON.stringify(variant))).toBe(false);
  });

  it('orders statements and action lists canonically', () => {
    const a = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:GetObject'], Resource: '*' },
        { Effect: 'Deny', Action: 'iam:*', Resource: '*' },
      ],
    };
    const b = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Action: ['iam:*'], Resource: ['*'] },
        { Resource: '*', Action: ['s3:GetObject', 's3:PutObject'], Effect: 'Allow' },
      ],
    };
    expect(normalizePolicyDocument(a)).toEqual(normalizePolicyDocument(b));
  });

  it('rejects a document that is not JSON even after URL-decoding, naming the attribute', () => {
    expect(() => normalizePolicyDocument('not json %ZZ', 'assume_role_policy')).toThrow(PolicyDocumentError);
    expect(() => normalizePolicyDocument('not json', 'assume_role_policy')).toThrow(/^assume_role_policy: /);
  });
});
