export * from './fake-http-server.ts';
export * from './rabbitmq.ts';
export * from './wait-for.ts';
