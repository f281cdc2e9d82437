//! Carrying a context across a process boundary: [`extract`] builds a request's context from
//! the headers that came in, [`inject`] writes the current context into the headers going out,
//! and [`message`] does both for message carriers (NATS, Kafka, AMQP headers).

pub(crate) mod extract;
pub(crate) mod inject;
pub(crate) mod message;
