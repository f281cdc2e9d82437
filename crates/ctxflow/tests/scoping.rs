//! Core scoping rules (docs/semantics.md §1), each pinned by one test.
//! Each test names the public source of the behaviour it pins where other systems define it.

use std::sync::Arc;

use ctxflow::{ContextVar, Snapshot};

static S: ContextVar<&'static str> = ContextVar::new("s");
static A: ContextVar<u32> = ContextVar::new("a");
static B: ContextVar<u32> = ContextVar::new("b");
static WITH_DEFAULT: ContextVar<&'static str> = ContextVar::new("w").with_default(|| "DEF");

#[test]
fn get_outside_any_scope_is_none_or_default() {
    // tc39/proposal-async-context tests/async-context.test.ts "has initial undefined state"
    assert_eq!(S.get(), None);
    assert!(!S.is_set());
    assert_eq!(WITH_DEFAULT.get(), Some("DEF"));
    assert!(!WITH_DEFAULT.is_set());
    assert!(S.with(|v| v.is_none()));
}

#[test]
fn sync_scope_returns_the_closure_result_and_runs_it_once() {
    // Node.js test/async-hooks/test-async-local-storage-args.js
    let mut calls = 0;
    let r = A.sync_scope(1, || {
        calls += 1;
        1 + 2 + A.get().unwrap()
    });
    assert_eq!((r, calls), (4, 1));
}

#[test]
fn nested_scopes_of_one_variable_shadow_then_restore() {
    // Node.js test/async-hooks/test-async-local-storage-nested.js
    let (a, b, c) = A.sync_scope(1, || {
        let a = A.get();
        let b = A.sync_scope(2, || A.get());
        (a, b, A.get())
    });
    assert_eq!((a, b, c, A.get()), (Some(1), Some(2), Some(1), None));
}

#[test]
fn two_variables_are_independent() {
    // Node.js test/async-hooks/test-async-local-storage-no-mix-contexts.js
    A.sync_scope(1, || {
        B.sync_scope(2, || {
            assert_eq!((A.get(), B.get()), (Some(1), Some(2)));
            A.sync_exit(|| assert_eq!((A.get(), B.get()), (None, Some(2))));
        });
        assert_eq!((A.get(), B.get()), (Some(1), None));
    });
}

#[test]
fn variables_with_the_same_name_and_type_never_share_values() {
    let one: ContextVar<u32> = ContextVar::new("same");
    let two: ContextVar<u32> = ContextVar::new("same");
    one.sync_scope(1, || {
        assert_eq!(two.get(), None);
        two.sync_scope(2, || assert_eq!((one.get(), two.get()), (Some(1), Some(2))));
    });
}

#[test]
fn the_stored_object_is_shared_not_copied() {
    // Node.js test/async-hooks/test-async-local-storage-misc-stores.js
    static LIST: ContextVar<std::sync::Mutex<Vec<u32>>> = ContextVar::new("list");
    LIST.sync_scope(Default::default(), || {
        let first = LIST.get_arc().unwrap();
        let child = ctxflow::thread::spawn(|| LIST.get_arc().unwrap().lock().unwrap().push(7));
        child.join().unwrap();
        assert_eq!(*first.lock().unwrap(), [7]);
        assert!(Arc::ptr_eq(&first, &LIST.get_arc().unwrap()));
    });
}

#[test]
fn deep_nesting_restores_every_level() {
    // Node.js test/parallel/test-async-local-storage-deep-stack.js
    fn recurse(n: u32) {
        if n == 0 {
            return;
        }
        A.sync_scope(n, || {
            recurse(n - 1);
            assert_eq!(A.get(), Some(n));
        });
    }
    recurse(1000);
    assert_eq!(A.get(), None);
}

#[test]
fn a_snapshot_taken_inside_a_scope_does_not_break_the_restore() {
    // test262 AsyncContext Variable/prototype/run/restores-context-snapshot-after-callback-takes-snapshot.js, from the three starting states the TC39 tests use.
    let check = || {
        let mut snap = None;
        let x = S.sync_scope("foo", || {
            S.sync_scope("42", || snap = Some(Snapshot::capture()));
            S.get()
        });
        assert_eq!(x, Some("foo"));
        assert_eq!(snap.unwrap().get(&S), Some("42"));
    };
    check();
    assert_eq!(S.get(), None);
    B.sync_scope(9, check);
    B.sync_scope(9, || {
        let _wrapped = Snapshot::capture().wrap(|| ());
        check();
    });
}

#[test]
fn exit_unsets_so_the_default_shows() {
    // test262 AsyncContext Variable/constructor-defaultValue.js: "unset" and "set" are distinct; exit unsets.
    WITH_DEFAULT.sync_scope("v", || {
        assert!(WITH_DEFAULT.is_set());
        WITH_DEFAULT.sync_exit(|| {
            assert_eq!(WITH_DEFAULT.get(), Some("DEF"));
            assert!(!WITH_DEFAULT.is_set());
        });
    });
    assert_eq!(WITH_DEFAULT.get(), Some("DEF"));
}

#[test]
fn names_are_for_diagnostics() {
    // test262 AsyncContext Variable/constructor-name.js, constructor-name-defaults-to-empty-string.js
    assert_eq!(S.name(), "s");
    assert_eq!(ContextVar::<u8>::new("").name(), "");
    assert!(format!("{S:?}").contains("\"s\""));
}

#[test]
fn with_borrows_without_cloning() {
    struct NotClone(u32);
    static V: ContextVar<NotClone> = ContextVar::new("nc");
    assert_eq!(V.sync_scope(NotClone(3), || V.with(|v| v.map(|v| v.0))), Some(3));
}

#[test]
fn several_variables_set_at_once_build_one_context() {
    ctxflow::sync_scope((A.value(1), B.value(2), S.value("x")), || {
        assert_eq!((A.get(), B.get(), S.get()), (Some(1), Some(2), Some("x")));
        ctxflow::sync_scope((A.unset(), B.value(3)), || {
            assert_eq!((A.get(), B.get(), S.get()), (None, Some(3), Some("x")));
        });
    });
    let built = Snapshot::empty().with_bindings([A.value(5), A.value(6)]);
    assert_eq!(built.get(&A), Some(6), "later bindings win");
}

#[test]
fn many_variables_stay_correct_across_representation_sizes() {
    // .NET runtime AsyncLocalTests.cs AddAndUpdateManyLocals_ValueType: 40 variables, set, update and clear each, checking all others every time.
    let vars: Vec<ContextVar<usize>> = (0..40).map(|i| ContextVar::named(format!("v{i}"))).collect();
    let check = |expect: &dyn Fn(usize) -> Option<usize>| {
        for (i, v) in vars.iter().enumerate() {
            assert_eq!(v.get(), expect(i), "variable {i}");
        }
    };
    Snapshot::empty().sync_run(|| {
        for (i, v) in vars.iter().enumerate() {
            v.set(i).unwrap();
            check(&|j| (j <= i).then_some(j));
        }
        for (i, v) in vars.iter().enumerate() {
            v.set(i + 100).unwrap();
            check(&|j| Some(if j <= i { j + 100 } else { j }));
        }
        for (i, v) in vars.iter().enumerate() {
            v.clear().unwrap();
            check(&|j| (j > i).then_some(j + 100));
        }
    });
}
