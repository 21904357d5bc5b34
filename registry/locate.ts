import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { splitPointer } from '../domain/registry/paths';

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

function positionOf(
  node: { range?: [number, number, number] | null } | null | undefined,
  lc: LineCounter,
): Position | undefined {
  const start = node?.range?.[0];
  if (start === undefined) return undefined;
  const { line, col } = lc.linePos(start);
  return { line, column: col };
}

/**
 * The line and column of a field (a JSON pointer) in a parsed YAML document. When the field is
 * missing, the position of its nearest existing parent's key (e.g. `spec:`); `atKey` points at the
 * field's key instead of its value (an unknown field).
 */
export function locateField(
  doc: Document.Parsed,
  lc: LineCounter,
  pointer: string,
  atKey = false,
): Position | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let lastKey: unknown;
  let found = true;
  for (const seg of splitPointer(pointer)) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === seg);
      if (!pair) {
        found = false;
        break;
      }
      keyNode = pair.key;
      lastKey = pair.key;
      node = pair.value;
      if (node === null || node === undefined) {
        // `key:` with no value: the key is the best place to point at.
        node = pair.key;
      }
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined || !/^\d+$/.test(seg)) {
        found = false;
        break;
      }
      keyNode = undefined;
      node = item;
    } else {
      found = false;
      break;
    }
  }
  // A block mapping or list value starts on the line after its key: point at the key instead.
  const pointAtKey = keyNode !== undefined && (atKey || isMap(node) || isSeq(node));
  if (found)
    return positionOf((pointAtKey ? keyNode : node) as Node, lc) ?? positionOf(doc.contents as Node, lc);
  return positionOf((lastKey ?? doc.contents) as Node, lc);
}
