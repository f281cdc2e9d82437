//! Shared by the model tests: random programs of nested scopes, sets, clears, exits, snapshots
//! (run as scopes, or entered as a tracing layer enters them), spawned, aborted and panicking
//! children, scopes cancelled mid-way, blocking jobs, rayon joins, plain rayon jobs (which
//! inherit nothing and, at their pool thread's root, may not write), `block_in_place`, code run
//! inside a read, and yields, and a reference model of what every read must see that is a few
//! lines of plain maps. A program runs as async code, spawning with `ctxflow::spawn` on a
//! multi-thread runtime, with plain `tokio::spawn` on one built with `propagate_context()`
//! (whose tasks find their context in the runtime's side table rather than in a wrapper), or
//! with `ctxflow::spawn_local` on a `LocalSet`; or as synchronous code on OS threads. The model
//! is the same for all four. One of the variables is `not_inherited`: spawned work of every kind
//! starts without it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;

use ctxflow::{ContextVar, SetError, Snapshot};

/// The last one is `not_inherited`: spawned work starts without it, snapshots keep it.
static VARS: [ContextVar<u32>; 3] =
    [ContextVar::new("v0"), ContextVar::new("v1"), ContextVar::new("v2").not_inherited()];
const NOT_INHERITED: usize = 2;
const SLOTS: usize = 2;

#[derive(Debug, Clone)]
pub enum Op {
    /// Synchronous code, run the same way by async and threaded programs.
    Same(SameOp),
    Scope(usize, u32, Vec<Op>),
    Exit(usize, Vec<Op>),
    RunSnapshot(usize, Vec<Op>),
    Spawn(Vec<Op>),
    SpawnPanicking(Vec<Op>),
    /// A child spawned and aborted after one yield of its spawner (on threads: joined).
    Abort(Vec<Op>),
    /// `block_in_place` around the body, run as synchronous code (on threads: the body).
    BlockInPlace(Vec<Op>),
    /// The body as a job of `ctxflow::spawn_blocking`, awaited (on threads: a thread, joined).
    Blocking(Vec<Op>),
    /// The two bodies as synchronous code in `ctxflow::rayon::join`, on a rayon pool entered with
    /// `install_in_context` (without the `rayon` feature: two threads, joined).
    Join(Vec<Op>, Vec<Op>),
    /// The body as a plain rayon job, on a pool of its own, waited for: it starts from the
    /// empty context, and its writes outside a scope of its own are refused (without the
    /// `rayon` feature: a plain thread, joined, whose root takes them).
    PlainJob(Vec<Op>),
    /// A scope around the body, polled once and dropped where it stood, as a `select!` branch
    /// that lost (on threads: the scope, run to its end).
    Cancel(usize, u32, Vec<Op>),
    Yield,
}

/// The operations that are synchronous code wherever they stand, so one function runs them in
/// both kinds of program (see [`same`]).
#[derive(Debug, Clone)]
pub enum SameOp {
    Read(usize),
    Set(usize, u32),
    Clear(usize),
    Capture(usize),
    /// The body as synchronous code inside the snapshot of a slot, entered by
    /// `Snapshot::enter` (as a tracing layer enters a span's context) and left by the guard;
    /// the entry made, and the guard dropped, each inside a read of a variable or not (a span
    /// entered or left in a `with` closure).
    Enter(usize, Vec<Op>, Option<usize>, Option<usize>),
    /// Two slots' snapshots entered, the first left while the second is current (the second
    /// stays current: the first one's exit waits for it), each body as synchronous code.
    EnterCrossed(usize, usize, Vec<Op>, Vec<Op>),
    /// The body as synchronous code inside a read of a variable (`with`'s closure): what it
    /// scopes, sets, enters and spawns is as it would be outside the read.
    Within(usize, Vec<Op>),
}

/// The reference model: a context is a plain map, copied at every scope.
pub type Model = BTreeMap<usize, u32>;

/// A random operation, nested up to four levels.
pub fn op() -> impl Strategy<Value = Op> {
    let var = 0..VARS.len();
    let leaf = prop_oneof![
        var.clone().prop_map(SameOp::Read).prop_map(Op::Same),
        (var.clone(), 0..100u32).prop_map(|(v, x)| Op::Same(SameOp::Set(v, x))),
        var.clone().prop_map(SameOp::Clear).prop_map(Op::Same),
        (0..SLOTS).prop_map(SameOp::Capture).prop_map(Op::Same),
        Just(Op::Yield),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        let body = prop::collection::vec(inner, 0..6);
        let reads = prop::option::of(0..VARS.len());
        prop_oneof![
            (0..VARS.len(), 0..100u32, body.clone()).prop_map(|(v, x, b)| Op::Scope(v, x, b)),
            (0..VARS.len(), body.clone()).prop_map(|(v, b)| Op::Exit(v, b)),
            (0..SLOTS, body.clone()).prop_map(|(s, b)| Op::RunSnapshot(s, b)),
            body.clone().prop_map(Op::Spawn),
            body.clone().prop_map(Op::SpawnPanicking),
            body.clone().prop_map(Op::Abort),
            body.clone().prop_map(Op::BlockInPlace),
            body.clone().prop_map(Op::Blocking),
            (body.clone(), body.clone()).prop_map(|(a, b)| Op::Join(a, b)),
            body.clone().prop_map(Op::PlainJob),
            (0..SLOTS, body.clone(), reads.clone(), reads).prop_map(|(s, b, e, l)| Op::Same(SameOp::Enter(s, b, e, l))),
            (0..SLOTS, 0..SLOTS, body.clone(), body.clone())
                .prop_map(|(s, t, a, b)| Op::Same(SameOp::EnterCrossed(s, t, a, b))),
            (0..VARS.len(), 0..100u32, body.clone()).prop_map(|(v, x, b)| Op::Cancel(v, x, b)),
            (0..VARS.len(), body).prop_map(|(v, b)| Op::Same(SameOp::Within(v, b))),
        ]
    })
}

/// What the current context holds of the model's variables.
pub fn read_all() -> Model {
    VARS.iter().enumerate().filter_map(|(i, v)| v.get().map(|x| (i, x))).collect()
}

struct Run {
    slots: [(Snapshot, Model); SLOTS],
    reads: usize,
    /// Whether the innermost scope takes writes (not so at a rayon pool thread's root).
    writable: bool,
}

impl Run {
    fn new() -> Run {
        Run { slots: std::array::from_fn(|_| (Snapshot::empty(), Model::new())), reads: 0, writable: true }
    }

    /// Runs `f` inside a scope of the program's own, which takes writes.
    fn scoped<R>(&mut self, f: impl FnOnce(&mut Run) -> R) -> R {
        let outer = std::mem::replace(&mut self.writable, true);
        let r = f(self);
        self.writable = outer;
        r
    }
}

/// Runs an operation that is the same in async and threaded programs.
fn same(op: &SameOp, model: &mut Model, run: &mut Run) {
    match op {
        SameOp::Read(v) => {
            assert_eq!(VARS[*v].get(), model.get(v).copied());
            run.reads += 1;
        }
        SameOp::Set(v, x) if run.writable => {
            VARS[*v].set(*x).unwrap();
            model.insert(*v, *x);
        }
        SameOp::Clear(v) if run.writable => {
            VARS[*v].clear().unwrap();
            model.remove(v);
        }
        SameOp::Set(v, x) => assert_eq!(VARS[*v].set(*x), Err(SetError::NoScope)),
        SameOp::Clear(v) => assert_eq!(VARS[*v].clear(), Err(SetError::NoScope)),
        SameOp::Capture(s) => run.slots[*s] = (Snapshot::capture(), model.clone()),
        SameOp::Enter(s, body, enter_in, leave_in) => {
            let (snap, mut inner) = run.slots[*s].clone();
            let guard = in_read(*enter_in, || snap.enter()).expect("entered, inside a read or not");
            run.scoped(|run| sync_run(body, &mut inner, run));
            in_read(*leave_in, || drop(guard));
        }
        SameOp::EnterCrossed(s, t, a, b) => {
            let ((first, _), (second, mut inner)) = (run.slots[*s].clone(), run.slots[*t].clone());
            let outer = first.enter().expect("entered, inside a read or not");
            let guard = second.enter().expect("entered, inside a read or not");
            run.scoped(|run| sync_run(a, &mut inner, run));
            drop(outer);
            assert_eq!(read_all(), inner, "the second entry is current until it is left");
            run.scoped(|run| sync_run(b, &mut inner, run));
            drop(guard);
        }
        SameOp::Within(v, body) => VARS[*v].with(|seen| {
            let value = seen.copied();
            assert_eq!(value, model.get(v).copied());
            sync_run(body, model, run);
            assert_eq!(seen.copied(), value, "the value a read holds never changes under it");
        }),
    }
}

/// Runs `f` inside a read of variable `var` (a `with` closure), or as it is with `None`.
fn in_read<R>(var: Option<usize>, f: impl FnOnce() -> R) -> R {
    match var {
        Some(v) => VARS[v].with(|_| f()),
        None => f(),
    }
}

/// The model of the context inside a `Scope` (`Some(x)`) or `Exit` (`None`) of `v`.
fn inner(model: &Model, v: usize, value: Option<u32>) -> Model {
    let mut inner = model.clone();
    match value {
        Some(x) => inner.insert(v, x),
        None => inner.remove(&v),
    };
    inner
}

/// How an async program spawns its children.
#[derive(Debug, Clone, Copy)]
pub enum Spawner {
    /// `ctxflow::spawn`, on any runtime.
    Ctxflow,
    /// Plain `tokio::spawn`, on a runtime built with `propagate_context()`.
    #[cfg_attr(not(all(feature = "runtime", tokio_unstable)), allow(dead_code))]
    Tokio,
    /// `ctxflow::spawn_local`, on a `LocalSet` of a current-thread runtime: every task of the
    /// program runs on one thread, polled inside the `LocalSet`'s own poll.
    Local,
}

impl Spawner {
    fn spawn<F>(self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Spawner::Ctxflow => ctxflow::spawn(fut),
            Spawner::Tokio => tokio::spawn(fut),
            Spawner::Local => ctxflow::spawn_local(fut),
        }
    }
}

/// Runs `ops` as async code, spawning children with `spawner`; `model` is what the current
/// context must hold.
fn run_async<'a>(
    ops: &'a [Op],
    model: &'a mut Model,
    run: &'a mut Run,
    spawner: Spawner,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
    Box::pin(async move {
        let mut children = Vec::new();
        for op in ops {
            assert_eq!(read_all(), *model, "before {op:?}");
            match op {
                Op::Same(op) => same(op, model, run),
                Op::Scope(v, x, body) => {
                    let mut inner = inner(model, *v, Some(*x));
                    VARS[*v].scope(*x, run_async(body, &mut inner, run, spawner)).await;
                }
                Op::Exit(v, body) => {
                    let mut inner = inner(model, *v, None);
                    VARS[*v].exit(run_async(body, &mut inner, run, spawner)).await;
                }
                Op::Cancel(v, x, body) => {
                    let mut inner = inner(model, *v, Some(*x));
                    let mut scoped = std::pin::pin!(VARS[*v].scope(*x, run_async(body, &mut inner, run, spawner)));
                    std::future::poll_fn(|cx| {
                        let _ = scoped.as_mut().poll(cx);
                        std::task::Poll::Ready(())
                    })
                    .await;
                }
                Op::RunSnapshot(s, body) => {
                    let (snap, mut inner) = run.slots[*s].clone();
                    snap.run(run_async(body, &mut inner, run, spawner)).await;
                }
                Op::Spawn(body) | Op::SpawnPanicking(body) => {
                    let (body, mut inner, panics) =
                        (body.clone(), inherited(model), matches!(op, Op::SpawnPanicking(_)));
                    let child = spawner.spawn(async move {
                        let mut run = Run::new();
                        run_async(&body, &mut inner, &mut run, spawner).await;
                        assert!(!panics, "planned panic");
                        run.reads
                    });
                    children.push((child, panics));
                }
                Op::Abort(body) => {
                    let (body, mut inner) = (body.clone(), inherited(model));
                    let child = spawner.spawn(async move {
                        let mut run = Run::new();
                        run_async(&body, &mut inner, &mut run, spawner).await;
                    });
                    tokio::task::yield_now().await;
                    child.abort();
                    // Finished before the abort, or cancelled: either way, not failed.
                    if let Err(e) = child.await {
                        assert!(e.is_cancelled(), "unexpected task failure: {e}");
                    }
                }
                // A current-thread runtime cannot block in place: the body runs as it is.
                Op::BlockInPlace(body) if matches!(spawner, Spawner::Local) => sync_run(body, model, run),
                Op::BlockInPlace(body) => tokio::task::block_in_place(|| sync_run(body, model, run)),
                Op::Blocking(body) => {
                    let (body, mut inner) = (body.clone(), inherited(model));
                    let job = ctxflow::spawn_blocking(move || {
                        let mut run = Run::new();
                        sync_run(&body, &mut inner, &mut run);
                        run.reads
                    });
                    run.reads += job.await.expect("a blocking job failed");
                }
                Op::Join(a, b) => run.reads += join(a, b, model),
                Op::PlainJob(body) => run.reads += plain_job(body),
                Op::Yield => tokio::task::yield_now().await,
            }
        }
        assert_eq!(read_all(), *model, "at the end of the block");
        for (child, panics) in children {
            match child.await {
                Ok(reads) => run.reads += reads,
                Err(e) => assert!(panics && e.is_panic(), "unexpected task failure: {e}"),
            }
            assert_eq!(read_all(), *model, "after joining a child");
        }
    })
}

/// The same program as synchronous code on OS threads.
fn sync_run(ops: &[Op], model: &mut Model, run: &mut Run) {
    let mut children = Vec::new();
    for op in ops {
        assert_eq!(read_all(), *model, "before {op:?}");
        match op {
            Op::Same(op) => same(op, model, run),
            Op::Scope(v, x, body) | Op::Cancel(v, x, body) => {
                let mut inner = inner(model, *v, Some(*x));
                run.scoped(|run| VARS[*v].sync_scope(*x, || sync_run(body, &mut inner, run)));
            }
            Op::Exit(v, body) => {
                let mut inner = inner(model, *v, None);
                run.scoped(|run| VARS[*v].sync_exit(|| sync_run(body, &mut inner, run)));
            }
            Op::RunSnapshot(s, body) => {
                let (snap, mut inner) = run.slots[*s].clone();
                run.scoped(|run| snap.sync_run(|| sync_run(body, &mut inner, run)));
            }
            Op::Spawn(body) | Op::SpawnPanicking(body) => {
                let (body, mut inner, panics) = (body.clone(), inherited(model), matches!(op, Op::SpawnPanicking(_)));
                let child = ctxflow::thread::spawn(move || {
                    let mut run = Run::new();
                    sync_run(&body, &mut inner, &mut run);
                    assert!(!panics, "planned panic");
                    run.reads
                });
                children.push((child, panics));
            }
            Op::Abort(body) => {
                let (body, mut inner) = (body.clone(), inherited(model));
                let child = ctxflow::thread::spawn(move || sync_run(&body, &mut inner, &mut Run::new()));
                child.join().expect("a thread that was to be aborted failed");
            }
            Op::BlockInPlace(body) => sync_run(body, model, run),
            Op::Blocking(body) => {
                let (body, mut inner) = (body.clone(), inherited(model));
                let job = ctxflow::thread::spawn(move || sync_run(&body, &mut inner, &mut Run::new()));
                job.join().expect("a thread that stood for a blocking job failed");
            }
            Op::Join(a, b) => run.reads += join(a, b, model),
            Op::PlainJob(body) => run.reads += plain_job(body),
            Op::Yield => std::thread::yield_now(),
        }
    }
    for (child, panics) in children {
        match child.join() {
            Ok(reads) => run.reads += reads,
            Err(_) => assert!(panics, "unexpected thread panic"),
        }
        assert_eq!(read_all(), *model, "after joining a child");
    }
}

/// What spawned work starts with: the spawner's context without the `not_inherited` variable.
fn inherited(model: &Model) -> Model {
    let mut inherited = model.clone();
    inherited.remove(&NOT_INHERITED);
    inherited
}

/// Runs `a` and `b` as synchronous children of the current context, in parallel; the reads
/// they made.
fn join(a: &[Op], b: &[Op], model: &Model) -> usize {
    let child = |body: &[Op]| {
        let mut run = Run::new();
        sync_run(body, &mut inherited(model), &mut run);
        run.reads
    };
    // On a pool of its own: a body blocks its pool thread while it joins a thread of its own,
    // and that thread's joins would wait for a free thread of a shared pool forever.
    #[cfg(feature = "rayon")]
    let (ra, rb) = {
        use ctxflow::rayon::ThreadPoolExt;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().expect("a rayon pool");
        pool.install_in_context(|| ctxflow::rayon::join(|| child(a), || child(b)))
    };
    #[cfg(not(feature = "rayon"))]
    let (ra, rb) = std::thread::scope(|s| {
        let spawned = |body| {
            let snapshot = ctxflow::Snapshot::capture_inherited();
            s.spawn(move || snapshot.sync_run(|| child(body)))
        };
        let (ha, hb) = (spawned(a), spawned(b));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    ra + rb
}

/// Runs `body` as synchronous code with no context of its own, as a plain rayon job: the reads
/// it made.
fn plain_job(body: &[Op]) -> usize {
    let job = || {
        let mut run = Run::new();
        // A rayon pool thread's root refuses writes; a plain thread's takes them.
        run.writable = !cfg!(feature = "rayon");
        sync_run(body, &mut Model::new(), &mut run);
        run.reads
    };
    // A pool of its own, so that the job runs at a pool thread's root even when this code runs
    // in a job of another pool.
    #[cfg(feature = "rayon")]
    return rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a rayon pool").install(job);
    #[cfg(not(feature = "rayon"))]
    std::thread::scope(|s| s.spawn(job).join().expect("a thread that stood for a plain job failed"))
}

/// Counts every panic but the planned ones, wherever it happens: a child left running when its
/// spawner was aborted is joined by no one, and tokio would swallow its failed check. A case
/// fails if the count moved while it ran (see [`finish`]), so that a failed case does not fail
/// the next one, and proptest can shrink it. (One count for the process: a failure in a
/// concurrent test may fail this one too.)
static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Keeps the planned panics quiet, and counts every other one in [`PANICS`].
fn watch_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.to_string().contains("planned panic") {
                PANICS.fetch_add(1, Ordering::Relaxed);
                default(info);
            }
        }));
    });
}

/// Runs `ops` as async code spawning with `spawner`, on the runtime it needs (a 2-worker one,
/// built with `propagate_context()` for [`Spawner::Tokio`]; a current-thread one and a
/// `LocalSet` for [`Spawner::Local`]), every read checked.
pub fn check_async(ops: Vec<Op>, spawner: Spawner) {
    watch_panics();
    let before = PANICS.load(Ordering::Relaxed);
    if let Spawner::Local = spawner {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let program = async move {
            let mut run = Run::new();
            run_async(&ops, &mut Model::new(), &mut run, spawner).await;
        };
        let local = tokio::task::LocalSet::new();
        let done = local.block_on(&rt, async { spawner.spawn(program).await });
        // The children of an aborted child run on, joined by no one: the set runs them to
        // their end, so that their checks count too.
        rt.block_on(local);
        drop(rt);
        finish(done, before);
        return;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    #[cfg(all(feature = "runtime", tokio_unstable))]
    if let Spawner::Tokio = spawner {
        use ctxflow::runtime::BuilderExt;
        builder.propagate_context();
    }
    let rt = builder.build().unwrap();
    let program = async move {
        let mut run = Run::new();
        run_async(&ops, &mut Model::new(), &mut run, spawner).await;
    };
    let done = rt.block_on(async {
        let done = spawner.spawn(program).await;
        // The children of an aborted child run on, joined by no one: their checks count too,
        // and at shutdown tokio would cancel the blocking jobs they wait for.
        while tokio::runtime::Handle::current().metrics().num_alive_tasks() > 0 {
            tokio::task::yield_now().await;
        }
        done
    });
    drop(rt);
    finish(done, before);
    // Every task is gone with its runtime, aborted and panicked ones included, and so is its
    // entry in the side table. (The only propagating runtime of its binary at this time: each
    // test runs its programs one after another.)
    #[cfg(all(feature = "runtime", tokio_unstable))]
    if let Spawner::Tokio = spawner {
        assert_eq!(ctxflow::runtime::tracked_tasks(), 0, "entries left in the side table");
    }
}

/// Runs `ops` as synchronous code on OS threads, every read checked.
pub fn check_threaded(ops: Vec<Op>) {
    watch_panics();
    let before = PANICS.load(Ordering::Relaxed);
    let done = ctxflow::thread::spawn(move || {
        let mut run = Run::new();
        sync_run(&ops, &mut Model::new(), &mut run);
    })
    .join();
    finish(done, before);
}

/// Ends a case begun when [`PANICS`] was `before`: fails it if its program failed, or if a check
/// failed while it ran (in a task no one joined, or in a concurrent test).
fn finish<E: std::fmt::Debug>(done: Result<(), E>, before: usize) {
    let panics = PANICS.load(Ordering::Relaxed) - before;
    done.unwrap();
    assert_eq!(panics, 0, "a check failed in a task no one joined, or in another test");
}
