/** The author and committer of every commit anton makes (the original's identity). */
export const GIT_IDENTITY = { name: 'anton-bot', email: 'anton-bot@users.noreply.github.com' } as const;
