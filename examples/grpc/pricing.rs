//! A tonic pricing service behind `ServerLayer`, and a tonic client behind `ClientLayer`: the
//! request context crosses gRPC as it crosses HTTP, since gRPC metadata are HTTP/2 headers.

use std::net::SocketAddr;

use ctxflow::ContextVar;
use ctxflow_http::{Baggage, ClientLayer, ClientService, REQUEST_ID, ServerLayer, TRACE};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tower::Layer;

pub mod proto {
    tonic::include_proto!("pricing");
}

use proto::pricing_client::PricingClient;
use proto::pricing_server::{Pricing, PricingServer};
use proto::{QuoteReply, QuoteRequest};

/// Crosses the wire as the baggage member `tenant`.
pub static TENANT: ContextVar<String> = ContextVar::new("tenant");

struct PricingService;

#[tonic::async_trait]
impl Pricing for PricingService {
    async fn quote(&self, request: Request<QuoteRequest>) -> Result<Response<QuoteReply>, Status> {
        let [request_id, trace_id, tenant] = seen();
        let has_parent = TRACE.with(|t| t.is_some_and(|t| t.parent_id.is_some()));
        let [child_request_id, child_trace_id, child_tenant] =
            ctxflow::spawn(async { seen() }).await.map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(QuoteReply {
            sku: request.into_inner().sku,
            request_id,
            trace_id,
            has_parent,
            tenant,
            child_request_id,
            child_trace_id,
            child_tenant,
        }))
    }
}

/// The request id, trace id and tenant of the current context ("" when unset).
pub fn seen() -> [String; 3] {
    [
        REQUEST_ID.get().map(|id| id.to_string()).unwrap_or_default(),
        TRACE.with(|t| t.map(|t| t.trace_id.to_string())).unwrap_or_default(),
        TENANT.get().unwrap_or_default(),
    ]
}

/// Serves the pricing service on a loopback port until the runtime shuts down.
pub async fn serve() -> std::io::Result<SocketAddr> {
    Baggage::export(&TENANT, "tenant").map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = Server::builder()
        .layer(ServerLayer::new())
        .add_service(PricingServer::new(PricingService))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    Ok(addr)
}

/// A client whose every call carries the caller's context.
pub async fn client(addr: SocketAddr) -> Result<PricingClient<ClientService<Channel>>, tonic::transport::Error> {
    let channel = Channel::from_shared(format!("http://{addr}")).expect("a valid URI").connect().await?;
    Ok(PricingClient::new(ClientLayer::new().layer(channel)))
}
