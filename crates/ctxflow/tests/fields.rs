//! `ctxflow::fields!`: variables bound to the fields of one shared struct (docs/semantics.md §1).

use std::sync::{Arc, Weak};

use ctxflow::{ContextVar, Snapshot};

#[derive(Debug)]
struct Request {
    id: u64,
    tenant: String,
    secret: String,
}

static ID: ContextVar<u64> = ContextVar::new("id");
static TENANT: ContextVar<String> = ContextVar::new("tenant");
static SECRET: ContextVar<String> = ContextVar::new("secret").not_inherited();

fn request() -> (Arc<Request>, Weak<Request>) {
    let r = Arc::new(Request { id: 7, tenant: "acme".into(), secret: "s3".into() });
    let weak = Arc::downgrade(&r);
    (r, weak)
}

#[test]
fn fields_read_like_values_and_the_struct_lives_while_a_context_holds_a_field() {
    let (r, weak) = request();
    let snap = Snapshot::empty().with_bindings(ctxflow::fields!(r, Request { id => ID, tenant => TENANT }));
    drop(r);
    assert_eq!(snap.sync_run(|| (ID.get(), TENANT.get())), (Some(7), Some("acme".to_string())));
    assert_eq!(snap.get(&ID), Some(7));
    TENANT.with(|t| assert_eq!(t, None));
    // A write replaces one field's variable; the struct stays for the other one.
    let after_set = snap.sync_run(|| {
        TENANT.set("other".into()).unwrap();
        Snapshot::capture()
    });
    drop(snap);
    assert!(weak.upgrade().is_some(), "ID in the captured context still holds the struct");
    assert_eq!(after_set.sync_run(|| (ID.get(), TENANT.get())), (Some(7), Some("other".to_string())));
    drop(after_set);
    assert!(weak.upgrade().is_none(), "freed with the last context that held a field");
}

#[test]
fn get_arc_of_a_field_is_a_copy_and_with_borrows_the_field_itself() {
    let (r, _weak) = request();
    let tenant_addr = &r.tenant as *const String;
    ctxflow::sync_scope(ctxflow::fields!(r, Request { tenant => TENANT }), || {
        TENANT.with(|t| assert!(std::ptr::eq(t.unwrap(), tenant_addr), "no copy for a read"));
        let copy = TENANT.get_arc().unwrap();
        assert_eq!((copy.as_str(), Arc::strong_count(&copy)), ("acme", 1));
    });
}

#[test]
fn spawned_tasks_inherit_fields_and_not_inherited_ones_stay_behind() {
    let (r, weak) = request();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let seen = rt.block_on(ctxflow::scope(
        ctxflow::fields!(r, Request { id => ID, tenant => TENANT, secret => SECRET }),
        async {
            let mut children = Vec::new();
            for _ in 0..100 {
                children.push(ctxflow::spawn(async { (ID.get(), TENANT.get(), SECRET.get()) }));
            }
            let mut seen = Vec::new();
            for child in children {
                seen.push(child.await.unwrap());
            }
            (seen, SECRET.get())
        },
    ));
    drop(r);
    let (children, own_secret) = seen;
    assert_eq!(own_secret.as_deref(), Some("s3"));
    for child in children {
        assert_eq!(child, (Some(7), Some("acme".to_string()), None));
    }
    drop(rt);
    assert!(weak.upgrade().is_none(), "every task's context gave its field back");
}
