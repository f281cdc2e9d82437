//! `ServerLayer`'s request-id and header options: a configurable request id header, the id
//! echoed on the response, other headers bound to variables with validation and a size limit,
//! and one id shared with tower-http's `SetRequestIdLayer` and `PropagateRequestIdLayer`
//! whichever side of them the layer is on.

mod common;

use std::convert::Infallible;

use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use ctxflow::ContextVar;
use ctxflow_http::{Baggage, BoundHeaderError, REQUEST_ID, RejectedHeaders, ServerLayer, limits};
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId as TowerRequestId, SetRequestIdLayer,
};

static TENANT: ContextVar<String> = ContextVar::new("tenant");
static SHARD: ContextVar<u16> = ContextVar::new("shard");

const TENANT_HEADER: HeaderName = HeaderName::from_static("x-tenant-id");
const SHARD_HEADER: HeaderName = HeaderName::from_static("x-shard");
const CORRELATION: HeaderName = HeaderName::from_static("x-correlation-id");

/// What a handler saw: its REQUEST_ID, the request's id header, TENANT, SHARD and the refusals.
#[derive(Debug)]
struct Seen {
    request_id: String,
    header: Option<HeaderValue>,
    tenant: Option<String>,
    shard: Option<u16>,
    rejected: Option<RejectedHeaders>,
}

async fn call(layer: ServerLayer, req: Request<()>, header: HeaderName) -> (Seen, Response<()>) {
    let svc = layer.layer(service_fn(move |req: Request<()>| {
        let header = header.clone();
        async move {
            let seen = Seen {
                request_id: REQUEST_ID.get().unwrap().to_string(),
                header: req.headers().get(&header).cloned(),
                tenant: TENANT.get(),
                shard: SHARD.get(),
                rejected: req.extensions().get::<RejectedHeaders>().cloned(),
            };
            Ok::<_, Infallible>(Response::new(seen))
        }
    }));
    let (parts, body) = svc.oneshot(req).await.unwrap().into_parts();
    (body.into_inner(), Response::from_parts(parts, ()))
}

/// Header fields as (name, raw value).
type Fields<'a> = &'a [(&'a str, &'a [u8])];

fn request(headers: Fields<'_>) -> Request<()> {
    let mut req = Request::new(());
    for (name, value) in headers {
        req.headers_mut()
            .append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(value).unwrap());
    }
    req
}

#[tokio::test]
async fn the_request_id_header_name_is_configurable() {
    let layer = ServerLayer::new().request_id_header(CORRELATION);
    let (seen, _) =
        call(layer.clone(), request(&[("x-correlation-id", b"c-1"), ("x-request-id", b"r-1")]), CORRELATION).await;
    assert_eq!(seen.request_id, "c-1", "the configured header is read, x-request-id is not");

    let (seen, _) = call(layer, request(&[("x-request-id", b"r-1")]), CORRELATION).await;
    assert_ne!(seen.request_id, "r-1");
    assert_eq!(seen.request_id.len(), 32, "a generated id");
    assert_eq!(seen.header.unwrap(), seen.request_id.as_str(), "and written into the request for inner layers");
}

#[tokio::test]
async fn the_request_seen_inside_carries_the_chosen_id() {
    // A bad id (two fields), and an id refused because callers are untrusted: both replaced,
    // in the header as in REQUEST_ID.
    let (seen, _) =
        call(ServerLayer::new(), request(&[("x-request-id", b"a"), ("x-request-id", b"b")]), REQUEST_ID_HEADER).await;
    assert_eq!(seen.header.unwrap(), seen.request_id.as_str());
    let untrusted = ServerLayer::new().accept_request_id(false);
    let (seen, _) = call(untrusted, request(&[("x-request-id", b"from-caller")]), REQUEST_ID_HEADER).await;
    assert_ne!(seen.request_id, "from-caller");
    assert_eq!(seen.header.unwrap(), seen.request_id.as_str());
}

const REQUEST_ID_HEADER: HeaderName = ctxflow_http::header::REQUEST_ID;

#[tokio::test]
async fn the_id_is_echoed_on_the_response_only_when_asked() {
    let (seen, res) = call(ServerLayer::new(), request(&[]), REQUEST_ID_HEADER).await;
    assert!(!res.headers().contains_key("x-request-id"), "{seen:?}");

    let echo = ServerLayer::new().echo_request_id(true);
    let (seen, res) = call(echo.clone(), request(&[]), REQUEST_ID_HEADER).await;
    assert_eq!(res.headers()["x-request-id"], seen.request_id.as_str());
    let (_, res) =
        call(echo.clone().request_id_header(CORRELATION), request(&[("x-correlation-id", b"c-2")]), CORRELATION).await;
    assert_eq!(res.headers()["x-correlation-id"], "c-2");
    assert!(!res.headers().contains_key("x-request-id"));

    // A value the inner service put on the response is kept.
    let svc = echo.layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::builder().header("x-request-id", "set-by-handler").body(()).unwrap())
    }));
    let res = svc.oneshot(request(&[("x-request-id", b"r-3")])).await.unwrap();
    assert_eq!(res.headers().get_all("x-request-id").iter().collect::<Vec<_>>(), ["set-by-handler"]);
}

fn binding_layer() -> ServerLayer {
    ServerLayer::new().bind_header(TENANT_HEADER, &TENANT).bind_header(SHARD_HEADER, &SHARD).bound_header_max_len(16)
}

#[tokio::test]
async fn valid_headers_are_bound_to_their_variables() {
    let (seen, _) =
        call(binding_layer(), request(&[("x-tenant-id", b"acme corp"), ("x-shard", b"7")]), REQUEST_ID_HEADER).await;
    assert_eq!((seen.tenant.as_deref(), seen.shard), (Some("acme corp"), Some(7)));
    assert!(seen.rejected.is_none(), "no extension when nothing was refused");
    let exactly_the_limit = [b'x'; 16];
    let (seen, _) = call(binding_layer(), request(&[("x-tenant-id", &exactly_the_limit)]), REQUEST_ID_HEADER).await;
    assert_eq!(seen.tenant.unwrap().len(), 16);
}

#[tokio::test]
async fn each_bad_value_is_refused_with_its_reason_and_leaves_the_variable_unset() {
    let too_long = [b'x'; 17];
    let cases: [(Fields<'_>, BoundHeaderError); 5] = [
        (&[("x-tenant-id", b"")], BoundHeaderError::Empty),
        (&[("x-tenant-id", &too_long)], BoundHeaderError::TooLong { len: 17, max: 16 }),
        (&[("x-tenant-id", b"caf\xe9")], BoundHeaderError::NotText),
        (&[("x-tenant-id", b"a"), ("x-tenant-id", b"b")], BoundHeaderError::Duplicate),
        (
            &[("x-tenant-id", b"ok"), ("x-shard", b"70000")],
            BoundHeaderError::Parse("number too large to fit in target type".into()),
        ),
    ];
    for (headers, expected) in cases {
        // Served inside a context that has both variables set: a refused header must not let
        // them through to the request.
        let fut = call(binding_layer(), request(headers), REQUEST_ID_HEADER);
        let (seen, _) = ctxflow::scope((TENANT.value("outer".into()), SHARD.value(1)), fut).await;
        let rejected = seen.rejected.expect("a RejectedHeaders extension");
        let (name, error) = rejected.iter().next().unwrap();
        assert_eq!(
            (name.as_str(), error),
            (if matches!(expected, BoundHeaderError::Parse(_)) { "x-shard" } else { "x-tenant-id" }, &expected)
        );
        assert_eq!(rejected.iter().count(), 1, "{rejected:?}");
        assert_eq!(seen.shard, None);
        if matches!(expected, BoundHeaderError::Parse(_)) {
            assert_eq!(seen.tenant.as_deref(), Some("ok"), "the good header is still bound");
        } else {
            assert_eq!(seen.tenant, None, "{expected}");
        }
    }
}

#[tokio::test]
async fn an_absent_header_hides_the_surrounding_value_and_a_bound_header_beats_baggage() {
    let (seen, _) = TENANT.scope("outer".into(), call(binding_layer(), request(&[]), REQUEST_ID_HEADER)).await;
    assert_eq!((seen.tenant, seen.rejected), (None, None));

    Baggage::export(&TENANT, "tenant").unwrap();
    let both = request(&[("baggage", b"tenant=from-baggage"), ("x-tenant-id", b"from-header")]);
    let (seen, _) = call(binding_layer(), both, REQUEST_ID_HEADER).await;
    assert_eq!(seen.tenant.as_deref(), Some("from-header"));
}

/// A loopback server whose handler answers `REQUEST_ID|tower-http's RequestId extension`.
async fn serve(app: Router) -> std::net::SocketAddr {
    common::serve(app).await
}

async fn ids_handler(req: Request<axum::body::Body>) -> String {
    let extension = req.extensions().get::<TowerRequestId>().map(|id| id.header_value().to_str().unwrap().to_owned());
    // The same id inside a spawned child.
    let child = ctxflow::spawn(async { REQUEST_ID.get().unwrap().to_string() }).await.unwrap();
    let id = REQUEST_ID.get().unwrap().to_string();
    assert_eq!(child, id);
    format!("{id}|{}", extension.unwrap_or_default())
}

/// 200 concurrent requests, half with their own id; every one must see a single id in
/// REQUEST_ID, in tower-http's extension and on the response.
async fn one_id_everywhere(app: Router) {
    let addr = serve(app).await;
    let client = common::client();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        calls.spawn(async move {
            let mut req = Request::get(format!("http://{addr}/")).body(Full::new(Bytes::new())).unwrap();
            let sent = (i % 2 == 0).then(|| format!("caller-{i}"));
            if let Some(sent) = &sent {
                req.headers_mut().insert("x-request-id", sent.parse().unwrap());
            }
            let res = client.request(req).await.unwrap();
            let echoed = res.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
            let body = common::text(res).await;
            let (context, extension) = body.split_once('|').unwrap();
            assert_eq!(context, extension, "request {i}: ctxflow and tower-http disagree");
            assert_eq!(echoed.as_deref(), Some(context), "request {i}: the response carries another id");
            if let Some(sent) = sent {
                assert_eq!(context, sent, "request {i}: the caller's id was replaced");
            }
            context.to_owned()
        });
    }
    let mut ids = std::collections::HashSet::new();
    while let Some(id) = calls.join_next().await {
        assert!(ids.insert(id.unwrap()), "two requests got the same id");
    }
    assert_eq!(ids.len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_id_with_tower_http_outside_the_layer() {
    // Requests pass SetRequestId, PropagateRequestId, then ServerLayer (axum's last `layer` is
    // the outermost). ServerLayer keeps the id SetRequestId made.
    let app = Router::new()
        .route("/", get(ids_handler))
        .layer(ServerLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    one_id_everywhere(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_id_with_tower_http_inside_the_layer() {
    // ServerLayer first: SetRequestId finds the id ctxflow chose already in the header.
    let app = Router::new()
        .route("/", get(ids_handler))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(ServerLayer::new());
    one_id_everywhere(app).await;
}

#[tokio::test]
async fn without_a_set_limit_the_default_one_applies() {
    let layer = ServerLayer::new().bind_header(TENANT_HEADER, &TENANT);
    let at_limit = vec![b't'; limits::BOUND_HEADER_MAX_LEN];
    let (seen, _) = call(layer.clone(), request(&[("x-tenant-id", &at_limit)]), REQUEST_ID_HEADER).await;
    assert_eq!(seen.tenant.map(|t| t.len()), Some(limits::BOUND_HEADER_MAX_LEN));
    let over = vec![b't'; limits::BOUND_HEADER_MAX_LEN + 1];
    let (seen, _) = call(layer, request(&[("x-tenant-id", &over)]), REQUEST_ID_HEADER).await;
    let expected =
        BoundHeaderError::TooLong { len: limits::BOUND_HEADER_MAX_LEN + 1, max: limits::BOUND_HEADER_MAX_LEN };
    assert_eq!(seen.rejected.unwrap().get("x-tenant-id"), Some(&expected));
}
