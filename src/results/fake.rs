//! An in-memory [`Outputs`] for unit tests: objects kept by URI, errors
//! injected, streams that break part way, every open counted.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use async_trait::async_trait;
use tokio::io::{AsyncRead, ReadBuf};

use super::{parse_s3_uri, OutputStream, Outputs};
use crate::comprehend::{AwsError, ErrorKind, Place};

/// An object: its bytes, and where its stream breaks, if it does.
#[derive(Clone)]
struct Object {
    bytes: Vec<u8>,
    fails_after: Option<usize>,
}

#[derive(Default)]
struct State {
    objects: HashMap<String, Object>,
    failures: VecDeque<AwsError>,
    opened: Vec<(Place, String)>,
}

/// In-memory S3 objects.
#[derive(Default)]
pub struct FakeOutputs {
    state: Mutex<State>,
}

impl FakeOutputs {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object at `uri` holds `bytes`.
    pub fn put(&self, uri: &str, bytes: Vec<u8>) {
        self.lock().objects.insert(
            uri.to_owned(),
            Object {
                bytes,
                fails_after: None,
            },
        );
    }

    /// The object at `uri` holds `bytes`, but its stream fails with an I/O
    /// error after `after` of them (a connection dropped mid-stream).
    pub fn put_breaking(&self, uri: &str, bytes: Vec<u8>, after: usize) {
        self.lock().objects.insert(
            uri.to_owned(),
            Object {
                bytes,
                fails_after: Some(after),
            },
        );
    }

    /// The next open answers `err`.
    pub fn fail_next(&self, err: AwsError) {
        self.lock().failures.push_back(err);
    }

    /// Every open so far: where, and which URI.
    pub fn opened(&self) -> Vec<(Place, String)> {
        self.lock().opened.clone()
    }
}

#[async_trait]
impl Outputs for FakeOutputs {
    async fn open(&self, at: &Place, s3_uri: &str) -> Result<OutputStream, AwsError> {
        let mut s = self.lock();
        s.opened.push((at.clone(), s3_uri.to_owned()));
        if let Some(err) = s.failures.pop_front() {
            return Err(err);
        }
        parse_s3_uri(s3_uri)?;
        let object = s.objects.get(s3_uri).cloned().ok_or_else(|| AwsError {
            kind: ErrorKind::InvalidSpec,
            code: "NoSuchKey".to_owned(),
            message: "The specified key does not exist.".to_owned(),
        })?;
        Ok(Box::new(Breaking {
            bytes: object.bytes,
            at: 0,
            fails_after: object.fails_after,
        }))
    }
}

/// Bytes served in small reads, failing at `fails_after` if set.
pub struct Breaking {
    bytes: Vec<u8>,
    at: usize,
    fails_after: Option<usize>,
}

impl Breaking {
    /// A stream of `bytes` failing after `after` of them.
    pub fn new(bytes: Vec<u8>, fails_after: Option<usize>) -> Self {
        Breaking {
            bytes,
            at: 0,
            fails_after,
        }
    }
}

/// Largest read, so that streams arrive in several pieces as from a socket.
const CHUNK: usize = 8 * 1024;

impl AsyncRead for Breaking {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let end = self.fails_after.unwrap_or(usize::MAX).min(self.bytes.len());
        if self.at >= end && self.fails_after.is_some_and(|f| f < self.bytes.len()) {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            )));
        }
        let n = (end - self.at.min(end)).min(buf.remaining()).min(CHUNK);
        let start = self.at;
        buf.put_slice(&self.bytes[start..start + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

/// A gzip'd tar of `members` (name, content), as Comprehend writes
/// `output.tar.gz`.
pub fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *content).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}
