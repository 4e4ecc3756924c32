import type { AgentTask } from '@anton/contracts';
import type { Enricher, Enrichment } from '../enricher.ts';
import { httpJiraApi, type JiraApi, type JiraApiConfig, type JiraComment, type JiraUser } from './jira-api.ts';

export type JiraEnricherConfig = JiraApiConfig;

const MAX_COMMENTS = 200;
/** Attachments read as text: small, textual, a few. */
const TEXT_ATTACHMENT_BYTES = 64 * 1024;
const TEXT_ATTACHMENTS = 3;
const TEXT_TYPES = /^(text\/|application\/(json|xml|x-log))/;
const TEXT_NAMES = /\.(log|txt|out|err|trace|json|xml|csv|ya?ml|stacktrace)$/i;
/** anton's reporter starts its comments so (outcome-words.ts), and ends them with its task id. */
const ANTON_COMMENT = /^anton [^\n]*\.\n(?:[\s\S]*\n)?Task [0-9a-f-]{36}\b/;

/**
 * For a JIRA issue: its discussion (comments oldest first, anton's own left out), attachments'
 * names and sizes and the text of small text attachments, linked issues, components and labels.
 */
export function jiraEnricher(config: JiraEnricherConfig, api: JiraApi = httpJiraApi(config)): Enricher {
  let self: Promise<JiraUser | undefined> | undefined;
  const whoAmI = (signal: AbortSignal) => {
    self ??= api.myself(signal).catch(() => {
      self = undefined; // asked again next time
      return undefined;
    });
    return self;
  };

  return {
    source: 'jira',
    heading: 'JIRA discussion and context',
    async enrich(task: AgentTask, signal: AbortSignal): Promise<Enrichment | undefined> {
      const key = task.external_id;
      if (!/^[A-Z][A-Z0-9_]*-\d+$/.test(key)) return undefined;
      const [issue, me] = await Promise.all([api.issue(key, signal), whoAmI(signal)]);
      const comments: JiraComment[] = [];
      for (let startAt = 0; comments.length < MAX_COMMENTS; ) {
        const page = await api.comments(key, startAt, signal);
        comments.push(...page.comments);
        startAt = page.startAt + page.comments.length;
        if (page.comments.length === 0 || startAt >= page.total) break;
      }
      const theirs = comments.filter((c) => !isAntons(c, me));
      const { fields } = issue;
      const sections: string[] = [];
      if (fields.components.length > 0) sections.push(`Components: ${fields.components.map((c) => c.name).join(', ')}`);
      if (fields.labels.length > 0) sections.push(`Labels: ${fields.labels.join(', ')}`);
      const links = fields.issuelinks.flatMap((link) => {
        const other = link.outwardIssue ?? link.inwardIssue;
        if (!other) return [];
        const how = (link.outwardIssue ? link.type.outward : link.type.inward) ?? link.type.name ?? 'relates to';
        const status = other.fields?.status?.name;
        return [`- ${how} ${other.key}: ${other.fields?.summary ?? ''}${status ? ` (${status})` : ''}`];
      });
      if (links.length > 0) sections.push(['Linked issues:', ...links].join('\n'));
      if (fields.attachment.length > 0) {
        const listed = fields.attachment.map(
          (a) => `- ${a.filename} (${a.size} bytes${a.mimeType ? `, ${a.mimeType}` : ''})`,
        );
        sections.push(['Attachments:', ...listed].join('\n'));
        const textual = fields.attachment
          .filter(
            (a) =>
              a.size <= TEXT_ATTACHMENT_BYTES && (TEXT_TYPES.test(a.mimeType ?? '') || TEXT_NAMES.test(a.filename)),
          )
          .slice(0, TEXT_ATTACHMENTS);
        for (const attachment of textual) {
          const text = await api.attachmentText(attachment.id, attachment.filename, signal).catch(() => undefined);
          if (text !== undefined) sections.push(`Attachment ${attachment.filename}:\n${text.trimEnd()}`);
        }
      }
      if (theirs.length > 0) {
        sections.push(
          [
            `Comments (${theirs.length}, oldest first):`,
            ...theirs.map(
              (c) => `--- ${c.author?.displayName ?? 'someone'}${c.created ? `, ${c.created}` : ''}:\n${c.body.trim()}`,
            ),
          ].join('\n'),
        );
      }
      return sections.length > 0 ? { text: sections.join('\n\n') } : undefined;
    },
  };
}

/**
 * anton's reporter comments in one form (outcome-words.ts) with the account of JIRA_EMAIL. Both
 * must hold: that account may be a person's, whose own comments are discussion, and anyone may
 * paste anton's words. When the account is unknown (myself failed), the form alone decides.
 */
function isAntons(comment: JiraComment, me: JiraUser | undefined): boolean {
  if (!ANTON_COMMENT.test(comment.body.trim())) return false;
  if (!me) return true;
  const author = comment.author;
  if (me.accountId !== undefined) return author?.accountId === me.accountId;
  return me.name !== undefined && author?.name === me.name;
}
