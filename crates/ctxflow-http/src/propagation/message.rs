//! Carriers beyond HTTP: the same headers on a message (NATS headers, Kafka record headers,
//! AMQP properties), through two small traits any header map can implement.
//!
//! The headers and their rules are HTTP's: `traceparent`, `tracestate`, `baggage` and the
//! request id, read by the same parsers. A message is never refused for its headers, since a
//! dropped message is lost work: a malformed header is dropped exactly as on an HTTP request
//! (a new trace for a bad `traceparent`, a bad baggage member loses only itself, a bad request
//! id is replaced), each drop a debug event, and the message is handled in what remains.
//! Names are the lowercase ones this crate writes; a map that compares names without case
//! finds them however a sender spelled them.

use std::collections::{BTreeMap, HashMap};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::header;
use crate::log::dropped;
use crate::propagation::extract::{ExtractOptions, IncomingContext};
use crate::propagation::inject::{InjectOptions, Sink, inject_into, join_fields};

/// A message's headers, read: every value of a header, in order.
///
/// Implement it for your broker's header type through a newtype (the orphan rule asks for
/// one); `http::HeaderMap` and string maps have it already.
///
/// ```
/// use ctxflow_http::MessageHeaders;
///
/// /// Kafka-style headers: a list of (key, bytes) pairs.
/// struct RecordHeaders<'a>(&'a [(String, Vec<u8>)]);
///
/// impl MessageHeaders for RecordHeaders<'_> {
///     fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
///         self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
///     }
/// }
///
/// let headers = [("baggage".to_owned(), b"k=v".to_vec())];
/// assert_eq!(RecordHeaders(&headers).values("baggage").collect::<Vec<_>>(), [b"k=v"]);
/// ```
pub trait MessageHeaders {
    /// Every value of the header `name` (lowercase), in the order the message holds them.
    fn values(&self, name: &str) -> impl Iterator<Item = &[u8]>;
}

/// A message's headers, written.
///
/// ```
/// use ctxflow_http::{MessageHeaders, MessageHeadersMut};
///
/// struct RecordHeaders(Vec<(String, Vec<u8>)>);
///
/// impl MessageHeaders for RecordHeaders {
///     fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
///         self.0.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
///     }
/// }
///
/// impl MessageHeadersMut for RecordHeaders {
///     fn insert(&mut self, name: &str, value: &str) {
///         self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
///         self.0.push((name.to_owned(), value.as_bytes().to_vec()));
///     }
/// }
/// ```
pub trait MessageHeadersMut: MessageHeaders {
    /// Sets the header `name` (lowercase) to `value` (visible ASCII), replacing any value.
    fn insert(&mut self, name: &str, value: &str);
}

impl IncomingContext {
    /// Reads a message's headers, as [`from_headers`](IncomingContext::from_headers) reads a
    /// request's: malformed ones are dropped and reported at debug level, never refused.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use ctxflow_http::{ExtractOptions, IncomingContext, REQUEST_ID};
    ///
    /// let headers = HashMap::from([
    ///     ("traceparent".to_owned(), "not a traceparent".to_owned()),
    ///     ("x-request-id".to_owned(), "order-17".to_owned()),
    /// ]);
    /// let incoming = IncomingContext::from_message(&headers, &ExtractOptions::default());
    /// assert!(incoming.trace.parent_id.is_none(), "a new trace; the message is still handled");
    /// let id = ctxflow::sync_scope(incoming.into_bindings(), || REQUEST_ID.get().unwrap());
    /// assert_eq!(id.as_str(), "order-17");
    /// ```
    pub fn from_message(headers: &impl MessageHeaders, options: &ExtractOptions) -> IncomingContext {
        let mut map = HeaderMap::new();
        for name in [&header::TRACEPARENT, &header::TRACESTATE, &header::BAGGAGE, &options.request_id_header] {
            for value in headers.values(name.as_str()) {
                match HeaderValue::from_bytes(value) {
                    Ok(value) => {
                        map.append(name.clone(), value);
                    }
                    // A value no HTTP header could hold: no parser here would accept it either.
                    Err(_) => dropped(name.as_str(), &"value holds control characters"),
                }
            }
        }
        IncomingContext::from_headers(&map, options)
    }
}

/// Writes the current context into a message's headers, as [`inject`](crate::inject) does
/// into a request's: a `traceparent` with a new parent-id per message, the `tracestate`, the
/// baggage with every declared variable, and the request id in `x-request-id`. A header the
/// message already has is left alone, but `baggage` gets the declared variables added.
///
/// ```
/// use std::collections::HashMap;
/// use ctxflow_http::{REQUEST_ID, inject_message};
///
/// let mut headers = HashMap::new();
/// REQUEST_ID.sync_scope("order-17".parse().unwrap(), || inject_message(&mut headers));
/// assert_eq!(headers["x-request-id"], "order-17");
/// ```
pub fn inject_message(headers: &mut impl MessageHeadersMut) {
    inject_into(&mut MessageSink(headers), &header::REQUEST_ID);
}

/// [`inject_message`], with the request id in the header `options` name: the consumer reads it
/// with the same name in
/// [`ExtractOptions::request_id_header`](crate::ExtractOptions::request_id_header).
///
/// ```
/// use std::collections::HashMap;
/// use ctxflow_http::{InjectOptions, REQUEST_ID, inject_message_with};
///
/// let mut options = InjectOptions::default();
/// options.request_id_header = http::HeaderName::from_static("x-correlation-id");
/// let mut headers = HashMap::new();
/// REQUEST_ID.sync_scope("order-17".parse().unwrap(), || inject_message_with(&mut headers, &options));
/// assert_eq!(headers["x-correlation-id"], "order-17");
/// assert!(!headers.contains_key("x-request-id"));
/// ```
pub fn inject_message_with(headers: &mut impl MessageHeadersMut, options: &InjectOptions) {
    inject_into(&mut MessageSink(headers), &options.request_id_header);
}

struct MessageSink<'a, M>(&'a mut M);

impl<M: MessageHeadersMut> Sink for MessageSink<'_, M> {
    fn put_if_absent<V: AsRef<[u8]>>(&mut self, name: &HeaderName, value: impl FnOnce() -> Option<V>) -> bool {
        if self.0.values(name.as_str()).next().is_some() {
            return false;
        }
        // Everything we write is visible ASCII; a value that somehow is not is left out.
        match value().as_ref().and_then(|v| std::str::from_utf8(v.as_ref()).ok()) {
            Some(text) => {
                self.0.insert(name.as_str(), text);
                true
            }
            None => false,
        }
    }

    fn joined(&self, name: &HeaderName) -> Option<String> {
        join_fields(self.0.values(name.as_str()).map(std::str::from_utf8))
    }

    fn replace(&mut self, name: &HeaderName, value: &str) {
        // A message map cannot be asked to remove a header: an empty list is the nearest.
        self.0.insert(name.as_str(), value);
    }
}

impl MessageHeaders for HeaderMap {
    fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
        self.get_all(name).into_iter().map(HeaderValue::as_bytes)
    }
}

impl MessageHeadersMut for HeaderMap {
    fn insert(&mut self, name: &str, value: &str) {
        // A name or value HTTP cannot carry is left out; ours always can.
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            HeaderMap::insert(self, name, value);
        }
    }
}

/// String maps: one value per name.
macro_rules! string_map {
    ($($map:ty $(where $param:ident: $bound:path)?),*) => {$(
        impl$(<$param: $bound>)? MessageHeaders for $map {
            fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> {
                self.get(name).map(String::as_bytes).into_iter()
            }
        }

        impl$(<$param: $bound>)? MessageHeadersMut for $map {
            fn insert(&mut self, name: &str, value: &str) {
                <$map>::insert(self, name.to_owned(), value.to_owned());
            }
        }
    )*};
}

string_map!(HashMap<String, String, S> where S: std::hash::BuildHasher, BTreeMap<String, String>);
