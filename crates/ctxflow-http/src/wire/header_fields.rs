//! Finding the fields of the four headers this crate reads, in one request.
//!
//! Every request pays for this, with or without trace headers. Four hashed lookups cost about
//! as much as parsing a `traceparent`; one walk over a typical request's handful of headers,
//! comparing names by length first, costs a fraction of that. Large header maps (more values
//! than [`SCAN_LIMIT`]) are looked up instead, and so is a name that repeats (rare: only
//! `tracestate` and `baggage` may), so the walk never has to remember more than one field per
//! name.

use http::header::{GetAll, ValueIter};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::header;

/// Above this many header values, hashed lookups beat a walk.
const SCAN_LIMIT: usize = 24;

/// The fields of one header name, in order.
pub(crate) enum Fields<'a> {
    /// No field, or exactly one.
    One(Option<&'a HeaderValue>),
    /// Whatever the map holds under the name.
    All(GetAll<'a, HeaderValue>),
}

impl<'a> Fields<'a> {
    /// The fields of `name`, by lookup.
    pub(crate) fn of(headers: &'a HeaderMap, name: &HeaderName) -> Self {
        Fields::All(headers.get_all(name))
    }

    /// The field when there is exactly one.
    pub(crate) fn single(&self) -> Option<&'a HeaderValue> {
        match self {
            Fields::One(field) => *field,
            Fields::All(all) => {
                let mut fields = all.iter();
                let first = fields.next()?;
                fields.next().is_none().then_some(first)
            }
        }
    }

    pub(crate) fn iter(&self) -> FieldIter<'a> {
        match self {
            Fields::One(field) => FieldIter::One(*field),
            Fields::All(all) => FieldIter::All(all.iter()),
        }
    }
}

/// Iterator of [`Fields`].
pub(crate) enum FieldIter<'a> {
    One(Option<&'a HeaderValue>),
    All(ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<&'a HeaderValue> {
        match self {
            FieldIter::One(field) => field.take(),
            FieldIter::All(all) => all.next(),
        }
    }
}

/// The fields of `traceparent`, `tracestate`, `baggage` and the request id's header.
pub(crate) struct FoundHeaders<'a> {
    pub(crate) traceparent: Fields<'a>,
    pub(crate) tracestate: Fields<'a>,
    pub(crate) baggage: Fields<'a>,
    pub(crate) request_id: Fields<'a>,
}

impl<'a> FoundHeaders<'a> {
    pub(crate) fn find(headers: &'a HeaderMap, request_id: &HeaderName) -> Self {
        if headers.len() > SCAN_LIMIT {
            return FoundHeaders {
                traceparent: Fields::of(headers, &header::TRACEPARENT),
                tracestate: Fields::of(headers, &header::TRACESTATE),
                baggage: Fields::of(headers, &header::BAGGAGE),
                request_id: Fields::of(headers, request_id),
            };
        }
        let mut found = FoundHeaders {
            traceparent: Fields::One(None),
            tracestate: Fields::One(None),
            baggage: Fields::One(None),
            request_id: Fields::One(None),
        };
        for (name, value) in headers {
            let slot = match name.as_str() {
                "traceparent" => &mut found.traceparent,
                "tracestate" => &mut found.tracestate,
                "baggage" => &mut found.baggage,
                _ if name == request_id => &mut found.request_id,
                _ => continue,
            };
            match slot {
                Fields::One(first @ None) => *first = Some(value),
                // A second field: let the map list them all.
                Fields::One(Some(_)) => *slot = Fields::of(headers, name),
                Fields::All(_) => {}
            }
        }
        found
    }
}
