import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import {
  appendBlocks,
  HclAddressError,
  hclString,
  importBlock,
  importCommandHint,
  movedBlock,
  setHclLiteral,
} from '../../../domain/reconcile/hcl';
import { expectGolden } from './golden';

const MAIN_TF = `# Security groups of the public app tier.
resource "aws_security_group" "app_public" {
  name        = "app-public" # keep this comment
  description = "Public app tier"
  vpc_id      = var.vpc_id

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  dynamic "egress" {
    for_each = var.egress
    content {
      from_port = egress.value.port
    }
  }
}

resource "aws_instance" "web" {
  ami           = "ami-0abc" /* pinned */
  instance_type = var.size
  monitoring    = true
  cpu_core_count = 2
  user_data     = <<-EOT
    #!/bin/sh
    echo "resource \\"aws_instance\\" \\"web\\" { description = \\"x\\" }"
  EOT
  tags = {
    Name = "web-\${var.env}"
  }
  description = "web \${var.env}"
  placement_group = null
  hostname = lower("WEB")
}
`;

describe('import and moved blocks', () => {
  it('renders an import block (golden)', () => {
    expectGolden('import-block.tf', importBlock({ to: 'module.net.aws_security_group.app_public', id: 'sg-0123456789abcdef0' }));
  });

  it('renders a moved block with tofu fmt alignment (golden)', () => {
    expectGolden('moved-block.tf', movedBlock({ from: 'aws_instance.web', to: 'module.compute.aws_instance.web["blue"]' }));
  });

  it('appends blocks after one blank line, ending with one newline', () => {
    const out = appendBlocks('resource "a" "b" {}\n\n\n', [importBlock({ to: 'a.b', id: 'x' }), movedBlock({ from: 'a.c', to: 'a.d' })]);
    expect(out).toBe(
      'resource "a" "b" {}\n\nimport {\n  to = a.b\n  id = "x"\n}\n\nmoved {\n  from = a.c\n  to   = a.d\n}\n',
    );
    expect(appendBlocks('', [importBlock({ to: 'a.b', id: 'x' })])).toBe('import {\n  to = a.b\n  id = "x"\n}\n');
  });

  it.each([
    ['quotes and backslashes', 'a"b\\c', '"a\\"b\\\\c"'],
    ['newline', 'a\nb', '"a\\nb"'],
    ['template sequences are neutralized', 'arn:${x}:%{y}', '"arn:$${x}:%%{y}"'],
  ])('hclString escapes %s', (_name, value, out) => {
    expect(hclString(value)).toBe(out);
  });

  it('an import id cannot break out of its string: the parser reads it back unchanged', async () => {
    const id = 'weird"} resource "x" "y" { ${file("/etc/passwd")}\n';
    const json = await parse('imports.tf', importBlock({ to: 'aws_s3_bucket.b', id }));
    // hcl2json answers in OpenTofu's JSON syntax, where a literal `${` is written `$${`.
    expect((json.import as { id: string }[])[0]?.id).toBe(id.replace('${', () => '$${'));
    expect(Object.keys(json)).toEqual(['import']);
  });

  it.each(['aws_instance', 'aws_instance.web.extra', 'data.aws_ami.x', 'module.x', '1aws.web', 'aws_instance.web[abc]', 'aws instance.web'])(
    'rejects the invalid address %j',
    (to) => {
      expect(() => importBlock({ to, id: 'x' })).toThrow(HclAddressError);
      expect(() => movedBlock({ from: 'a.b', to })).toThrow(/invalid resource address for moved.to/);
    },
  );

  it('rejects a move onto itself', () => {
    expect(() => movedBlock({ from: 'a.b', to: 'a.b' })).toThrow(HclAddressError);
  });

  it('tells reviewers how to generate the imported configuration', () => {
    expect(importCommandHint('infra/prod dir')).toContain("tofu -chdir='infra/prod dir' plan -generate-config-out=generated.tf");
    expect(importCommandHint('.')).toContain('  tofu plan -generate-config-out=generated.tf');
  });
});

describe('setHclLiteral', () => {
  it.each([
    ['a string', 'aws_security_group.app_public', 'description', 'Public app tier (INC-9127)', '  description = "Public app tier (INC-9127)"'],
    ['a string keeping its comment', 'aws_security_group.app_public', 'name', 'app-public-2', '  name        = "app-public-2" # keep this comment'],
    ['a number', 'aws_instance.web', 'cpu_core_count', 4, '  cpu_core_count = 4'],
    ['a bool', 'aws_instance.web', 'monitoring', false, '  monitoring    = false'],
    ['a string with a block comment after it', 'aws_instance.web', 'ami', 'ami-0def', '  ami           = "ami-0def" /* pinned */'],
    ['a string needing escapes', 'aws_instance.web', 'ami', 'a"${b}', '  ami           = "a\\"$${b}" /* pinned */'],
  ] as const)('replaces %s and nothing else', async (_name, address, attribute, value, line) => {
    const res = await setHclLiteral(MAIN_TF, { address, attribute, value }, parse);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const before = MAIN_TF.split('\n');
    const after = res.text.split('\n');
    expect(after.length).toBe(before.length);
    const changed = after.map((l, i) => (l === before[i] ? -1 : i)).filter((i) => i >= 0);
    expect(changed.length).toBe(1);
    expect(after[changed[0] as number]).toBe(line);
    const json = await parse('main.tf', res.text);
    const [type, name] = address.split('.') as [string, string];
    const block = (json.resource as Record<string, Record<string, Record<string, unknown>[]>>)[type]?.[name]?.[0];
    expect(block?.[attribute]).toBe(typeof value === 'string' ? value.replace('${', () => '$${') : value);
  });

  it.each([
    ['aws_instance.web', 'instance_type', 'aws_instance.web.instance_type is set by the expression var.size, not a literal'],
    ['aws_security_group.app_public', 'vpc_id', 'aws_security_group.app_public.vpc_id is set by the expression var.vpc_id, not a literal'],
    ['aws_instance.web', 'description', 'aws_instance.web.description is set by the template "web ${var.env}", not a literal'],
    ['aws_instance.web', 'tags', 'aws_instance.web.tags is set by the expression { Name = "web-${var.env}" }, not a literal'],
    ['aws_instance.web', 'hostname', 'aws_instance.web.hostname is set by the expression lower("WEB"), not a literal'],
    ['aws_instance.web', 'user_data', 'aws_instance.web.user_data is set by a heredoc string, not a literal'],
    ['aws_instance.web', 'placement_group', 'aws_instance.web.placement_group is set by null, not a literal'],
    ['aws_security_group.app_public', 'ingress', 'aws_security_group.app_public.ingress is a nested block, not an attribute'],
    ['aws_security_group.app_public', 'egress', 'aws_security_group.app_public.egress is generated by a dynamic "egress" block, not a literal'],
    ['aws_instance.web', 'ebs_optimized', "aws_instance.web.ebs_optimized is not set in main.tf (its value comes from the provider's default); add it by hand"],
    ['aws_instance.db', 'ami', 'resource "aws_instance" "db" is not declared in main.tf'],
    ['module.app.aws_instance.web', 'ami', 'module.app.aws_instance.web names a module resource or one instance; only a resource declared in this file (TYPE.NAME) is edited'],
    ['aws_security_group.app_public', 'ingress.0.from_port', 'aws_security_group.app_public.ingress.0.from_port is not a top-level attribute name (it reaches inside ingress); only top-level literal attributes are edited'],
  ])('refuses %s.%s with an exact reason', async (address, attribute, reason) => {
    const res = await setHclLiteral(MAIN_TF, { address, attribute, value: 'x' }, parse);
    expect(res).toEqual({ ok: false, reason });
  });

  it('refuses a file that does not parse, with the parser message', async () => {
    const res = await setHclLiteral('resource "a" "b" {\n  x = 1\n', { address: 'a.b', attribute: 'x', value: 2, fileName: 'broken.tf' }, parse);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.reason).toMatch(/^broken\.tf does not parse: .*Unclosed configuration block/);
  });

  it('is not fooled by a resource header inside a heredoc or a comment', async () => {
    const text = `# resource "aws_instance" "web" {\n#   ami = "fake"\nresource "aws_instance" "web" {\n  ami = "real"\n}\n`;
    const res = await setHclLiteral(text, { address: 'aws_instance.web', attribute: 'ami', value: 'new' }, parse);
    expect(res).toEqual({ ok: true, text: text.replace('"real"', '"new"') });
  });

  it('refuses a non-finite number', async () => {
    const res = await setHclLiteral(MAIN_TF, { address: 'aws_instance.web', attribute: 'cpu_core_count', value: Number.NaN }, parse);
    expect(res).toEqual({ ok: false, reason: 'NaN is not a value an HCL literal can hold' });
  });
});
