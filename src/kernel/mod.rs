//! What both controllers share and no custom resource knows: conditions,
//! the status writer, events, watches, per-object memory and backoff, and
//! the error a reconcile retries.

pub mod conditions;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod memory;
pub mod status;
#[cfg(test)]
pub(crate) mod testing;
pub mod watch;
