//! Event delivery, pure: which pending events go out in which request and when (`outbox`), the
//! numbers and HTTP outcomes that decide it (`policy`), how the outbox persists across page loads
//! (`snapshot`), and which tab may send the shared events (`lease`). The shell does the I/O.

mod lease;
mod outbox;
mod policy;
mod snapshot;

pub use lease::{may_send, Lease};
pub use outbox::{FlushReason, Outbox, PushError, Send, Settled, Transport};
pub use policy::{parse_retry_after, Outcome, Policy};
pub use snapshot::RestoreReport;

#[cfg(test)]
mod tests;
