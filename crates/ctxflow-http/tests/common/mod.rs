//! Loopback servers and clients shared by the HTTP tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Serves `app` on an ephemeral loopback port until the runtime shuts down.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// The body of a response, as text.
pub async fn text<B: hyper::body::Body>(res: http::Response<B>) -> String
where
    B::Error: std::fmt::Debug,
{
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// What the current context holds, as one line: `trace_id span_id request_id baggage`.
pub fn report() -> String {
    let trace = ctxflow_http::TRACE.with(|t| t.map(|t| format!("{} {}", t.trace_id, t.span_id)));
    let request = ctxflow_http::REQUEST_ID.get().map(|r| r.to_string());
    let baggage = ctxflow_http::BAGGAGE.with(|b| b.map(|b| b.to_string()));
    format!("{} {} {}", trace.unwrap_or("-".into()), request.unwrap_or("-".into()), baggage.unwrap_or("-".into()))
}

/// A body that reports the request id it sees each time hyper polls it, `;` after each.
pub struct ReportsRequestId {
    pub frames_left: u8,
}

impl http_body::Body for ReportsRequestId {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::convert::Infallible>>> {
        if self.frames_left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.frames_left -= 1;
        let seen = ctxflow_http::REQUEST_ID.get().map_or("none".to_owned(), |r| r.to_string());
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(seen + ";")))))
    }
}
