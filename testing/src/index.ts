export * from './fake-http-server.ts';
export * from './git/git-env.ts';
export * from './git/git-http-server.ts';
export * from './git/sample-repo.ts';
export * from './github/fake-github.ts';
export * from './rabbitmq.ts';
export * from './wait-for.ts';
