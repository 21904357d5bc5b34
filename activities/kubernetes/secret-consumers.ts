/**
 * Which pod templates consume a Secret. Structural types, so both client-node models and plain
 * JSON objects fit; only the fields that can name a Secret are read.
 */

interface ContainerLike {
  name?: string;
  env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

interface VolumeLike {
  secret?: { secretName?: string };
  projected?: { sources?: { secret?: { name?: string } }[] };
}

/** The parts of a PodSpec that can reference a Secret. */
export interface PodSpecLike {
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  volumes?: VolumeLike[];
}

/** How a pod template references a Secret (JSON-pointer-ish paths, for evidence). */
export function secretReferences(spec: PodSpecLike | undefined, secretName: string): string[] {
  if (!spec) return [];
  const refs: string[] = [];
  const scan = (list: ContainerLike[] | undefined, field: 'containers' | 'initContainers') =>
    (list ?? []).forEach((c, i) => {
      (c.env ?? []).forEach((e, j) => {
        if (e.valueFrom?.secretKeyRef?.name === secretName)
          refs.push(`/spec/template/spec/${field}/${i}/env/${j}/valueFrom/secretKeyRef`);
      });
      (c.envFrom ?? []).forEach((e, j) => {
        if (e.secretRef?.name === secretName)
          refs.push(`/spec/template/spec/${field}/${i}/envFrom/${j}/secretRef`);
      });
    });
  scan(spec.containers, 'containers');
  scan(spec.initContainers, 'initContainers');
  (spec.volumes ?? []).forEach((v, i) => {
    if (v.secret?.secretName === secretName) refs.push(`/spec/template/spec/volumes/${i}/secret`);
    // A projected volume mounts Secrets too; a rotated value reaches it like a plain secret volume.
    (v.projected?.sources ?? []).forEach((s, j) => {
      if (s.secret?.name === secretName)
        refs.push(`/spec/template/spec/volumes/${i}/projected/sources/${j}/secret`);
    });
  });
  return refs;
}

/** True when the pod template references the Secret from any container, init container or volume. */
export function consumesSecret(spec: PodSpecLike | undefined, secretName: string): boolean {
  return secretReferences(spec, secretName).length > 0;
}
