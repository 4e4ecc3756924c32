// Stand-in credential proxy: listens on PROXY_PORT and tells whoever asks what environment it got.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ path: req.url, env: process.env }));
});
server.listen(Number(process.env.PROXY_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
