// Node's heap per pending async item, measured the way the Rust memory probe counts bytes
// per live task: 100 000 async functions parked at an await that never completes, started
// with no context (plain), each inside its own AsyncLocalStorage.run (als), or plain with a
// no-op async_hooks hook enabled (hook). Run with --expose-gc, one variant per process.
//
//   node --expose-gc mem.mjs <plain|als|hook>
import { AsyncLocalStorage, createHook } from 'node:async_hooks';

const variant = process.argv[2];
const ITEMS = 100_000;
const round = Number(process.env.CTXFLOW_BENCH_ROUND ?? '0');
const als = new AsyncLocalStorage();
const never = new Promise(() => {});

if (variant === 'hook') createHook({ init() {}, before() {}, after() {}, destroy() {} }).enable();
const run = variant === 'als' ? (id, fn) => als.run(id, fn) : (_id, fn) => fn();

async function parked() {
  await never;
}

const keep = new Array(ITEMS);
// Warm up the code paths (and ALS's first-use set-up) before counting.
for (let i = 0; i < 1000; i++) run(i, parked);
globalThis.gc();
globalThis.gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < ITEMS; i++) keep[i] = run(i + 1, parked);
globalThis.gc();
globalThis.gc();
const after = process.memoryUsage().heapUsed;
console.log(JSON.stringify({ group: 'node_mem_pending', name: variant, value: (after - before) / ITEMS, unit: 'bytes', round }));
