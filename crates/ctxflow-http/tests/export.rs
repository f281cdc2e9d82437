//! Declared exports: only declared variables cross the wire, in both directions, and undeclared
//! members are forwarded untouched. (Declarations are process-wide, so every test uses its own
//! variables and keys.)

use std::convert::Infallible;

use ctxflow::ContextVar;
use ctxflow_http::{BAGGAGE, Baggage, BaggageCodec, ClientLayer, ExportError, ServerLayer, TRACE, TraceContext};
use http::{HeaderMap, Request};
use tower::{Layer, ServiceExt, service_fn};

/// What a handler behind the server layer sees for `var`, and the headers its outgoing call sends.
async fn through_server<T: Clone + Send + Sync + 'static>(
    var: &'static ContextVar<T>,
    baggage: &str,
) -> (Option<T>, HeaderMap) {
    let svc = ServerLayer::new().layer(service_fn(move |_req: Request<()>| async move {
        let seen = var.get();
        let client = ClientLayer::new()
            .layer(service_fn(|req: Request<()>| async move { Ok::<_, Infallible>(req.headers().clone()) }));
        let sent = client.oneshot(Request::new(())).await.unwrap();
        Ok::<_, Infallible>(http::Response::new((seen, sent)))
    }));
    let req = Request::builder().header("baggage", baggage).body(()).unwrap();
    svc.oneshot(req).await.unwrap().into_body().into_inner()
}

fn baggage_of(headers: &HeaderMap) -> String {
    headers.get("baggage").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn declared_member_sets_its_variable_and_is_forwarded() {
    static TENANT: ContextVar<String> = ContextVar::new("tenant");
    Baggage::export(&TENANT, "tenant1").unwrap();
    let (seen, sent) = through_server(&TENANT, "tenant1=acme%20corp;prop=1,other=x").await;
    assert_eq!(seen.as_deref(), Some("acme corp"));
    assert_eq!(baggage_of(&sent), "tenant1=acme%20corp;prop=1,other=x", "unchanged members go out as they came");
}

#[tokio::test]
async fn undeclared_member_never_reaches_a_variable_but_is_forwarded() {
    static USER: ContextVar<String> = ContextVar::new("user");
    let (seen, sent) = through_server(&USER, "user=mallory").await;
    assert_eq!(seen, None, "`user` was never declared");
    assert_eq!(baggage_of(&sent), "user=mallory");
}

#[tokio::test]
async fn value_the_codec_refuses_leaves_the_variable_unset() {
    static SHARD: ContextVar<u32> = ContextVar::new("shard");
    Baggage::export(&SHARD, "shard1").unwrap();
    let (seen, sent) = through_server(&SHARD, "shard1=not-a-number").await;
    assert_eq!(seen, None);
    assert_eq!(baggage_of(&sent), "shard1=not-a-number", "still forwarded as received");
    let (seen, _) = through_server(&SHARD, "shard1=7").await;
    assert_eq!(seen, Some(7));
}

#[tokio::test]
async fn declared_variable_set_locally_goes_out_first_and_replaces_the_incoming_member() {
    static REGION: ContextVar<String> = ContextVar::new("region");
    Baggage::export(&REGION, "region1").unwrap();
    let client = ClientLayer::new()
        .layer(service_fn(|req: Request<()>| async move { Ok::<_, Infallible>(baggage_of(req.headers())) }));
    let incoming: Baggage = "a=1,region1=old,b=2".parse().unwrap();
    let sent = ctxflow::scope(
        (BAGGAGE.value(incoming), REGION.value("eu west".into())),
        client.clone().oneshot(Request::new(())),
    )
    .await
    .unwrap();
    assert_eq!(sent, "region1=eu%20west,a=1,b=2");
    // Without incoming baggage: only the declared variable.
    let sent = REGION.scope("x".into(), client.oneshot(Request::new(()))).await.unwrap();
    assert_eq!(sent, "region1=x");
}

#[tokio::test]
async fn declared_variable_that_is_unset_sends_nothing() {
    static PLAN: ContextVar<String> = ContextVar::new("plan");
    Baggage::export(&PLAN, "plan1").unwrap();
    let client = ClientLayer::new().layer(service_fn(|req: Request<()>| async move {
        Ok::<_, Infallible>(req.headers().contains_key("baggage"))
    }));
    assert!(!TRACE.scope(TraceContext::new_root(true), client.oneshot(Request::new(()))).await.unwrap());
}

#[tokio::test]
async fn custom_codec_is_used_both_ways() {
    struct YesNo;
    impl BaggageCodec<bool> for YesNo {
        fn encode(&self, v: &bool) -> String {
            if *v { "yes" } else { "no" }.into()
        }
        fn decode(&self, t: &str) -> Option<bool> {
            match t {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            }
        }
    }
    static BETA: ContextVar<bool> = ContextVar::new("beta");
    Baggage::export_with(&BETA, "beta1", YesNo).unwrap();
    let (seen, sent) = through_server(&BETA, "beta1=yes").await;
    assert_eq!(seen, Some(true));
    assert_eq!(baggage_of(&sent), "beta1=yes");
}

#[test]
fn declarations_are_validated() {
    static A: ContextVar<String> = ContextVar::new("a");
    static B: ContextVar<String> = ContextVar::new("b");
    assert_eq!(Baggage::export(&A, "bad key"), Err(ExportError::InvalidKey));
    assert_eq!(Baggage::export(&A, ""), Err(ExportError::InvalidKey));
    Baggage::export(&A, "taken1").unwrap();
    assert_eq!(Baggage::export(&B, "taken1"), Err(ExportError::KeyTaken));
}

#[test]
fn the_same_declaration_again_is_accepted_and_another_variable_is_not() {
    static SAME: ContextVar<String> = ContextVar::new("same");
    static ELSE: ContextVar<String> = ContextVar::new("else");
    Baggage::export(&SAME, "again1").unwrap();
    // A test suite builds its app, declarations included, many times.
    Baggage::export(&SAME, "again1").unwrap();
    Baggage::export(&SAME, "again1").unwrap();
    assert_eq!(Baggage::export(&ELSE, "again1"), Err(ExportError::KeyTaken));
}

#[tokio::test]
async fn a_value_too_large_to_send_removes_the_incoming_member_instead_of_forwarding_it() {
    static BIG: ContextVar<String> = ContextVar::new("big");
    Baggage::export(&BIG, "big1").unwrap();
    let svc = ServerLayer::new().layer(service_fn(|_req: Request<()>| async move {
        BIG.set("x".repeat(9000)).unwrap();
        let client = ClientLayer::new()
            .layer(service_fn(|req: Request<()>| async move { Ok::<_, Infallible>(req.headers().clone()) }));
        let sent = client.oneshot(Request::new(())).await.unwrap();
        Ok::<_, Infallible>(http::Response::new(sent))
    }));
    let req = Request::builder().header("baggage", "big1=old,other=1").body(()).unwrap();
    let sent = svc.oneshot(req).await.unwrap().into_body().into_inner();
    assert_eq!(baggage_of(&sent), "other=1", "no big1 member (it cannot fit, and the old one is stale)");
}
