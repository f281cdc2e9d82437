//! async-nats's header map as a ctxflow-http message carrier. A newtype, because both the
//! traits and the map belong to other crates: `NatsHeaders(&msg_headers)` to read,
//! `NatsHeaders(&mut headers)` or an owned map to write.

use std::borrow::{Borrow, BorrowMut};

use async_nats::HeaderMap;
use ctxflow_http::{MessageHeaders, MessageHeadersMut};

pub struct NatsHeaders<H>(pub H);

impl<H: Borrow<HeaderMap>> MessageHeaders for NatsHeaders<H> {
    fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.0.borrow().get_all(name).map(|value| value.as_str().as_bytes())
    }
}

impl<H: Borrow<HeaderMap> + BorrowMut<HeaderMap>> MessageHeadersMut for NatsHeaders<H> {
    fn insert(&mut self, name: &str, value: &str) {
        self.0.borrow_mut().insert(name, value);
    }
}
