//! The errors of a reconcile that a controller retries with backoff.

/// Errors of a reconcile that the controller retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing to the Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    /// A status write the reconcile waited for failed (it is retried by the
    /// status writer all the same).
    #[error("status write: {0}")]
    Write(String),
}

impl Error {
    /// A fixed category for metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Kube(_) | Error::Write(_) => "kube",
        }
    }
}
