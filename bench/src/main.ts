console.error('pnpm bench: not yet — the benchmarks land with issue 9.');
process.exit(1);
