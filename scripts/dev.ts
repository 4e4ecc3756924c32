console.error('pnpm dev: not yet — the local pipeline lands with issue 7 (ingester + orchestrator with DISPATCHER=local).');
process.exit(1);
