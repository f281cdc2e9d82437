// Node's side of the comparison: the same two async workloads as the Rust suite, with no
// context (plain), with AsyncLocalStorage (als), and plain with a no-op async_hooks hook
// enabled (hook). Each variant runs in its own process, because enabling a hook (or the
// first ALS run) changes how every later promise in the process is tracked.
//
//   node context.mjs <awaits20|requests10k> <plain|als|hook>
//
// Prints one JSON line per workload: {"group","name","value" (median ns per iteration),
// "unit","round"}. CTXFLOW_BENCH_ROUND and CTXFLOW_BENCH_SECONDS come from scripts/bench.sh.
import { AsyncLocalStorage, createHook } from 'node:async_hooks';

const [workload, variant] = process.argv.slice(2);
const AWAITS = 20;
const REQUESTS = 10_000;
const seconds = Number(process.env.CTXFLOW_BENCH_SECONDS ?? '2');
const round = Number(process.env.CTXFLOW_BENCH_ROUND ?? '0');

const als = new AsyncLocalStorage();
let run;
let read;
if (variant === 'als') {
  run = (id, fn) => als.run(id, fn);
  read = () => als.getStore() ?? 0;
} else if (variant === 'plain' || variant === 'hook') {
  run = (_id, fn) => fn();
  read = () => 0;
  if (variant === 'hook') {
    createHook({ init() {}, before() {}, after() {}, destroy() {} }).enable();
  }
} else {
  throw new Error(`unknown variant ${variant}`);
}

// A task of AWAITS awaits, reading the value after each (Rust: spawn + 20 yield_now + get).
async function awaits(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await null;
    sum += read();
  }
  return sum;
}

const immediate = () => new Promise((resolve) => setImmediate(resolve));

// One request: AWAITS awaits with a read each, then one trip through the event loop.
async function request() {
  const sum = await awaits(AWAITS);
  await immediate();
  return sum + read();
}

const workloads = {
  // One iteration: start a task of 20 awaits in the request's context and wait for it.
  awaits20: { batch: 2_000, once: () => run(7, () => awaits(AWAITS)) },
  // One iteration: 10 000 concurrent requests, request i in context i + 1.
  requests10k: {
    batch: 1,
    once: () => Promise.all(Array.from({ length: REQUESTS }, (_, i) => run(i + 1, request))),
  },
};

async function measure({ batch, once }) {
  const samples = [];
  const warmUntil = performance.now() + Math.min(1000, seconds * 1000);
  while (performance.now() < warmUntil) {
    for (let i = 0; i < batch; i++) await once();
  }
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || samples.length < 3) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await once();
    samples.push(Number(process.hrtime.bigint() - start) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

const w = workloads[workload];
if (!w) throw new Error(`unknown workload ${workload}`);
const value = await measure(w);
console.log(JSON.stringify({ group: `node_${workload}`, name: variant, value, unit: 'ns', round }));
