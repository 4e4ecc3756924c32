/** Atlassian Document Format: just enough to reject what Jira rejects and read comments back as text. */

export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: Array<{ type: string; attrs?: Record<string, unknown> }>;
}

export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

const INLINE = new Set(['text', 'hardBreak', 'mention', 'emoji', 'inlineCard', 'date', 'status', 'inlineExtension']);
const BLOCK = new Set([
  'paragraph',
  'heading',
  'bulletList',
  'orderedList',
  'listItem',
  'codeBlock',
  'blockquote',
  'rule',
  'panel',
  'table',
  'tableRow',
  'tableHeader',
  'tableCell',
  'mediaSingle',
  'mediaGroup',
  'media',
  'expand',
  'nestedExpand',
  'taskList',
  'taskItem',
  'decisionList',
  'decisionItem',
  'blockCard',
  'embedCard',
  'layoutSection',
  'layoutColumn',
  'extension',
  'bodiedExtension',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `node` is not valid ADF below a parent, or null when it is. */
function nodeProblem(node: unknown, topLevel: boolean): string | null {
  if (!isObject(node) || typeof node.type !== 'string') return 'a node without a type';
  const { type } = node;
  if (!INLINE.has(type) && !BLOCK.has(type)) return `unknown node type '${type}'`;
  if (topLevel && INLINE.has(type)) return `inline node '${type}' directly in the document`;
  if (type === 'text') {
    if (typeof node.text !== 'string' || node.text.length === 0) return 'a text node without text';
    if (node.marks !== undefined) {
      if (!Array.isArray(node.marks) || !node.marks.every((m) => isObject(m) && typeof m.type === 'string')) {
        return 'marks that are not a list of {type}';
      }
    }
    return null;
  }
  if (node.content === undefined) return null;
  if (!Array.isArray(node.content)) return `'${type}' content that is not a list`;
  for (const child of node.content) {
    const problem = nodeProblem(child, false);
    if (problem) return problem;
  }
  return null;
}

/** Why `doc` is not an ADF document Jira would accept, or null when it is. */
export function adfProblem(doc: unknown): string | null {
  if (!isObject(doc)) return 'not an object';
  if (doc.type !== 'doc') return "type is not 'doc'";
  if (doc.version !== 1) return 'version is not 1';
  if (!Array.isArray(doc.content)) return 'content is not a list';
  for (const node of doc.content) {
    const problem = nodeProblem(node, true);
    if (problem) return problem;
  }
  return null;
}

function inlineText(node: AdfNode): string {
  switch (node.type) {
    case 'text':
      return node.text ?? '';
    case 'hardBreak':
      return '\n';
    case 'mention':
    case 'emoji':
    case 'status':
      return String(node.attrs?.text ?? node.attrs?.shortName ?? '');
    case 'inlineCard':
      return String(node.attrs?.url ?? '');
    default:
      return (node.content ?? []).map(inlineText).join('');
  }
}

function blockText(node: AdfNode): string {
  const children = node.content ?? [];
  switch (node.type) {
    case 'bulletList':
      return children.map((item) => `- ${blockText(item)}`).join('\n');
    case 'orderedList':
      return children.map((item, i) => `${i + 1}. ${blockText(item)}`).join('\n');
    case 'rule':
      return '---';
    default:
      return children.every((c) => INLINE.has(c.type))
        ? children.map(inlineText).join('')
        : children.map(blockText).join('\n');
  }
}

/** The document's text, one line per block, for easy assertions. */
export function adfToText(doc: AdfDoc): string {
  return doc.content.map(blockText).join('\n');
}

/** A plain-text comment as Jira's v3 API shows it: one paragraph per line. */
export function textToAdf(text: string): AdfDoc {
  return {
    type: 'doc',
    version: 1,
    content: text.split('\n').map((line) => ({
      type: 'paragraph',
      content: line ? [{ type: 'text', text: line }] : [],
    })),
  };
}
