import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { editManifest, findManifestFile, ManifestEditError } from '../../../domain/reconcile/manifest-edit';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest read back in a test: any shape.
type Manifest = Record<string, any>;

const CONFIG_MAP = `# checkout-web: flags and deployment
apiVersion: v1
kind: ConfigMap
metadata:
  name: checkout-web-flags   # read by the app at start
  namespace: checkout
data:
  FLAG_NEW_PAYMENT_FLOW: "false"
`;
const DEPLOYMENT = `---
# The storefront.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout-web
  namespace: checkout
  labels:
    app: checkout-web    # selector label
spec:
  replicas: 3 # HPA owns this in prod
  template:
    spec:
      containers:
      - name: web
        image: 'ghcr.io/acme/checkout-web:1.4.2'
        env:
        - name: MODE
          value: "live"
`;
const SERVICE = `---
apiVersion: v1
kind: Service
metadata: {name: checkout-web, namespace: checkout}
spec:
  ports: [{port: 80}]
`;
const FILE = CONFIG_MAP + DEPLOYMENT + SERVICE;
const deploy = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'checkout', name: 'checkout-web' };

describe('editManifest (YAML)', () => {
  it('replaces scalars in place: one line each, quoting and comments kept, the rest byte for byte', () => {
    const res = editManifest(FILE, 'checkout.yaml', deploy, [
      { path: '/spec/replicas', value: 5 },
      { path: '/spec/template/spec/containers/0/image', value: 'ghcr.io/acme/checkout-web:1.4.3' },
    ]);
    expect(res.changed).toBe(true);
    expect(res.text).toBe(
      FILE.replace('replicas: 3 # HPA', 'replicas: 5 # HPA').replace("'ghcr.io/acme/checkout-web:1.4.2'", "'ghcr.io/acme/checkout-web:1.4.3'"),
    );
  });

  it('adds a label through a new path: the edited document keeps its comments, the others stay byte for byte', () => {
    const res = editManifest(FILE, 'checkout.yaml', deploy, [{ path: '/metadata/labels/tier', value: 'gold' }]);
    expect(res.changed).toBe(true);
    expect(res.text.startsWith(CONFIG_MAP)).toBe(true);
    expect(res.text.endsWith(SERVICE)).toBe(true);
    const edited = res.text.slice(CONFIG_MAP.length, res.text.length - SERVICE.length);
    expect(edited).toContain('# The storefront.');
    expect(edited).toContain('replicas: 3 # HPA owns this in prod');
    expect(edited).toContain("image: 'ghcr.io/acme/checkout-web:1.4.2'");
    expect(edited).toContain('    app: checkout-web # selector label\n    tier: gold\n');
    // The file's flush sequence style is kept.
    expect(edited).toContain('      containers:\n      - name: web\n');
    const docs = parseAllDocuments(res.text);
    expect(Array.isArray(docs) && docs.length).toBe(3);
    expect((Array.isArray(docs) ? (docs[1]?.toJS() as { metadata: { labels: unknown } }) : undefined)?.metadata.labels).toEqual({ app: 'checkout-web', tier: 'gold' });
  });

  it('creates missing maps, unescapes ~1 and ~0, and removes fields', () => {
    const res = editManifest(FILE, 'checkout.yaml', deploy, [
      { path: '/metadata/annotations/driftplane.io~1finding', value: 'checkout-web-prod:0123' },
      { path: '/metadata/annotations/a~0b', value: 'tilde' },
      { path: '/spec/template/spec/containers/0/env/0', remove: true },
    ]);
    const doc = (parseAllDocuments(res.text) as unknown as { toJS(): Manifest }[])[1]?.toJS();
    expect(doc?.metadata.annotations).toEqual({ 'driftplane.io/finding': 'checkout-web-prod:0123', 'a~b': 'tilde' });
    expect(doc?.spec.template.spec.containers[0].env).toEqual([]);
  });

  it('appends to a list with "-"', () => {
    const res = editManifest(FILE, 'checkout.yaml', deploy, [
      { path: '/spec/template/spec/containers/0/env/-', value: { name: 'REGION', value: 'eu-west-1' } },
    ]);
    const doc = (parseAllDocuments(res.text) as unknown as { toJS(): Manifest }[])[1]?.toJS();
    expect(doc?.spec.template.spec.containers[0].env).toEqual([
      { name: 'MODE', value: 'live' },
      { name: 'REGION', value: 'eu-west-1' },
    ]);
  });

  it('reports no change and returns the text as is when the value is already there', () => {
    expect(editManifest(FILE, 'checkout.yaml', deploy, [{ path: '/spec/replicas', value: 3 }])).toEqual({ text: FILE, changed: false });
    expect(editManifest(FILE, 'checkout.yaml', deploy, [{ path: '/metadata/labels/missing', remove: true }])).toEqual({ text: FILE, changed: false });
  });

  it('matches a manifest without a namespace (the deploy tool sets it) and by API group only', () => {
    const text = 'apiVersion: apps/v1beta2\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n';
    const res = editManifest(text, 'web.yaml', { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'prod', name: 'web' }, [
      { path: '/spec/replicas', value: 2 },
    ]);
    expect(res.text).toBe(text.replace('replicas: 1', 'replicas: 2'));
  });

  it.each([
    ['document not found', { ...deploy, name: 'nope' }, '/spec/replicas', 'checkout.yaml: Deployment checkout/nope (apps/v1): document not found'],
    ['a pointer through a scalar', deploy, '/spec/replicas/max', 'checkout.yaml: Deployment checkout/checkout-web (apps/v1) at /spec/replicas/max: /spec/replicas is a scalar, not a map or list'],
    ['an index out of range', deploy, '/spec/template/spec/containers/3/image', 'checkout.yaml: Deployment checkout/checkout-web (apps/v1) at /spec/template/spec/containers/3/image: "3" is not an index of the list at /spec/template/spec/containers (length 1)'],
    ['a name on a list', deploy, '/spec/template/spec/containers/web/image', 'checkout.yaml: Deployment checkout/checkout-web (apps/v1) at /spec/template/spec/containers/web/image: "web" is not an index of the list at /spec/template/spec/containers (length 1)'],
    ['not a pointer', deploy, 'spec.replicas', 'checkout.yaml: Deployment checkout/checkout-web (apps/v1) at spec.replicas: not a JSON pointer (it must start with "/")'],
    ['the whole document', deploy, '', 'checkout.yaml: Deployment checkout/checkout-web (apps/v1) at : cannot replace the whole document'],
  ])('throws ManifestEditError for %s', (_name, target, path, message) => {
    let err: unknown;
    try {
      editManifest(FILE, 'checkout.yaml', target, [{ path, value: 1 }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ManifestEditError);
    expect((err as Error).message).toBe(message);
  });

  it('refuses two documents that match equally', () => {
    expect(() => editManifest(DEPLOYMENT + DEPLOYMENT, 'dup.yaml', deploy, [{ path: '/spec/replicas', value: 1 }])).toThrow(
      'dup.yaml: Deployment checkout/checkout-web (apps/v1): 2 documents match (documents 1, 2)',
    );
  });
});

describe('editManifest (JSON)', () => {
  const json = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'checkout' }, data: { A: '1' } });

  it('sets fields and writes JSON with two-space indent and a newline', () => {
    const res = editManifest(json, 'flags.json', { kind: 'ConfigMap', namespace: 'checkout', name: 'flags' }, [
      { path: '/data/B', value: '2' },
      { path: '/metadata/labels/tier', value: 'gold' },
      { path: '/data/A', remove: true },
    ]);
    expect(res.changed).toBe(true);
    expect(res.text).toBe(
      `${JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'flags', namespace: 'checkout', labels: { tier: 'gold' } }, data: { B: '2' } }, null, 2)}\n`,
    );
  });

  it('throws through a scalar', () => {
    expect(() => editManifest(json, 'flags.json', { kind: 'ConfigMap', name: 'flags' }, [{ path: '/data/A/x', value: 1 }])).toThrow(
      ManifestEditError,
    );
  });
});

describe('findManifestFile', () => {
  const files = [
    { path: 'apps/checkout/configmap.yaml', text: CONFIG_MAP },
    { path: 'apps/checkout/deployment.yaml', text: DEPLOYMENT + SERVICE },
    { path: 'apps/checkout/README.md', text: 'kind: Deployment\nmetadata:\n  name: checkout-web\n' },
    { path: 'apps/checkout/broken.yaml', text: 'kind: [' },
  ];

  it('returns the file holding the target document', () => {
    expect(findManifestFile(files, deploy)).toBe('apps/checkout/deployment.yaml');
    expect(findManifestFile(files, { kind: 'ConfigMap', name: 'checkout-web-flags', namespace: 'checkout' })).toBe('apps/checkout/configmap.yaml');
    expect(findManifestFile(files, { kind: 'Secret', name: 'x' })).toBeUndefined();
  });

  it('refuses to guess between two files', () => {
    expect(() => findManifestFile([...files, { path: 'apps/checkout/copy.yaml', text: DEPLOYMENT }], deploy)).toThrow(/2 files hold this document/);
  });
});
