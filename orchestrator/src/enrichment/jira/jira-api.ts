import { z } from 'zod';
import { apiUrl, callJson } from '../http-json.ts';

/** A user as Jira renders it: Cloud names users by `accountId`, Data Center by `name`/`key`. */
export const JiraUser = z.looseObject({
  accountId: z.string().optional(),
  name: z.string().optional(),
  key: z.string().optional(),
  displayName: z.string().optional(),
});
export type JiraUser = z.infer<typeof JiraUser>;

const LinkedIssue = z.looseObject({
  key: z.string(),
  fields: z
    .looseObject({ summary: z.string().optional(), status: z.looseObject({ name: z.string() }).optional() })
    .optional(),
});

/** `GET /rest/api/2/issue/{key}?fields=…`: the fields read here. */
export const JiraIssue = z.looseObject({
  key: z.string(),
  fields: z.looseObject({
    labels: z.array(z.string()).default([]),
    components: z.array(z.looseObject({ name: z.string() })).default([]),
    attachment: z
      .array(
        z.looseObject({
          id: z.string(),
          filename: z.string(),
          size: z.number(),
          mimeType: z.string().optional(),
          content: z.string().optional(),
        }),
      )
      .default([]),
    issuelinks: z
      .array(
        z.looseObject({
          type: z.looseObject({
            inward: z.string().optional(),
            outward: z.string().optional(),
            name: z.string().optional(),
          }),
          inwardIssue: LinkedIssue.optional(),
          outwardIssue: LinkedIssue.optional(),
        }),
      )
      .default([]),
  }),
});
export type JiraIssue = z.infer<typeof JiraIssue>;

export const JiraComment = z.looseObject({
  id: z.string(),
  author: JiraUser.optional(),
  body: z.string().default(''),
  created: z.string().optional(),
});
export type JiraComment = z.infer<typeof JiraComment>;

/** `GET /rest/api/2/issue/{key}/comment`: paged with startAt/maxResults/total. */
export const CommentsPage = z.looseObject({
  startAt: z.number(),
  maxResults: z.number(),
  total: z.number(),
  comments: z.array(JiraComment),
});

export interface JiraApi {
  myself(signal: AbortSignal): Promise<JiraUser>;
  issue(key: string, signal: AbortSignal): Promise<JiraIssue>;
  comments(key: string, startAt: number, signal: AbortSignal): Promise<z.infer<typeof CommentsPage>>;
  /** The text of an attachment, by id and name (on the Jira host itself, never a URL from an answer). */
  attachmentText(id: string, filename: string, signal: AbortSignal): Promise<string>;
}

export interface JiraApiConfig {
  baseUrl: string;
  /** The whole `Authorization` header value: Basic (Cloud: email and API token) or Bearer (Data Center PAT). */
  authorization: string;
}

/** REST API v2: what Jira Cloud and Data Center both serve, with plain-text comment bodies. */
export function httpJiraApi(config: JiraApiConfig): JiraApi {
  const headers = { authorization: config.authorization };
  const api = (path: string, query: Record<string, string | number | undefined> = {}) =>
    apiUrl(config.baseUrl, `/rest/api/2${path}`, query);
  return {
    myself: (signal) => callJson({ url: api('/myself'), headers, schema: JiraUser, signal, what: 'jira myself' }),
    issue: (key, signal) =>
      callJson({
        url: api(`/issue/${encodeURIComponent(key)}`, { fields: 'labels,components,attachment,issuelinks' }),
        headers,
        schema: JiraIssue,
        signal,
        what: `jira issue ${key}`,
      }),
    comments: (key, startAt, signal) =>
      callJson({
        url: api(`/issue/${encodeURIComponent(key)}/comment`, { startAt, maxResults: 100, orderBy: 'created' }),
        headers,
        schema: CommentsPage,
        signal,
        what: `jira comments of ${key}`,
      }),
    attachmentText: async (id, filename, signal) => {
      // Cloud serves the content from the REST API (redirect=false: no hop to its media host);
      // Data Center has no such resource and serves /secure/attachment instead.
      const cloud = api(`/attachment/content/${encodeURIComponent(id)}`, { redirect: 'false' });
      const server = apiUrl(
        config.baseUrl,
        `/secure/attachment/${encodeURIComponent(id)}/${encodeURIComponent(filename)}`,
      );
      for (const url of [cloud, server]) {
        const response = await fetch(url, { headers, signal, redirect: 'error' });
        if (response.ok) return response.text();
        await response.body?.cancel();
        if (response.status !== 404) throw new Error(`jira attachment ${id}: HTTP ${response.status}`);
      }
      throw new Error(`jira attachment ${id}: HTTP 404`);
    },
  };
}
