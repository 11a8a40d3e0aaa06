//! [`summarize`]: an async reader streamed through gunzip, tar and lines
//! into a [`SummaryBuilder`].
//!
//! The archive is decoded with `flate2` and `tar` (plain `std::io`) on a
//! blocking-pool thread, reading the async source through
//! `tokio_util::io::SyncIoBridge`. Both crates are maintained and already
//! in the workspace (the stand-in writes its archives with them), while the
//! async tar crates are forks with far fewer users; a summary runs once per
//! completed job, so holding one blocking thread while it streams costs
//! little. Nothing is buffered beyond the decoders' own small buffers and
//! one line of at most [`MAX_LINE_BYTES`].

use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use flate2::read::GzDecoder;
use tokio::io::AsyncRead;
use tokio_util::io::SyncIoBridge;

use super::{ResultsError, Summary, SummaryBuilder, MAX_LINE_BYTES, PREDICTIONS_MEMBER};
use crate::comprehend::{AwsError, ErrorKind};

/// The code of an [`AwsError`] for a stream that broke while being read.
pub const READ_ERROR: &str = "ReadError";

/// Read buffer between the tar member and the line splitter.
const READ_BUFFER: usize = 64 * 1024;

/// Streams `reader` (an `output.tar.gz`) through gunzip, tar and lines and
/// summarizes its `predictions.jsonl` with at most `top` classes.
///
/// Only the first member named `predictions.jsonl` (in any directory) is
/// read; other members are skipped. The archive is read to the end of the
/// gzip stream, so a cut archive is caught by its length and CRC. An
/// archive that is not gzip, not tar, has no `predictions.jsonl` or is cut
/// short is [`ResultsError::Malformed`]; a failure of `reader` itself is
/// [`ResultsError::Unreadable`] with code [`READ_ERROR`]. Dropping the
/// returned future stops the reading at the next read.
pub async fn summarize<R>(reader: R, top: usize) -> Result<Summary, ResultsError>
where
    R: AsyncRead + Send + Unpin + 'static,
{
    let cancelled = Arc::new(AtomicBool::new(false));
    let _stop_when_dropped = CancelOnDrop(cancelled.clone());
    let failure = Arc::new(Mutex::new(None));
    let source = Source {
        inner: SyncIoBridge::new(reader),
        failure: failure.clone(),
        cancelled,
    };
    let summary = tokio::task::spawn_blocking(move || read_archive(source, top)).await;
    match summary {
        Ok(Ok(summary)) => Ok(summary),
        Ok(Err(e)) => {
            let failed = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
            Err(match failed {
                Some(message) => ResultsError::Unreadable(AwsError {
                    kind: ErrorKind::Transient,
                    code: READ_ERROR.to_owned(),
                    message,
                }),
                None => ResultsError::Malformed(e),
            })
        }
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(ResultsError::Unreadable(AwsError {
            kind: ErrorKind::Transient,
            code: READ_ERROR.to_owned(),
            message: format!("reading the output was cancelled: {join}"),
        })),
    }
}

/// Sets the flag when the summarizing future goes away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The blocking view of the async source. Records its own failures, so
/// that they can be told from the decoders' complaints (which wrap them),
/// and stops once the caller is gone.
struct Source<R> {
    inner: R,
    failure: Arc<Mutex<Option<String>>>,
    cancelled: Arc<AtomicBool>,
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let result = if self.cancelled.load(Ordering::Relaxed) {
            Err(io::Error::other("the summary was dropped"))
        } else {
            self.inner.read(buf)
        };
        if let Err(e) = &result {
            if e.kind() != io::ErrorKind::Interrupted {
                self.failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert_with(|| error_chain(e));
            }
        }
        result
    }
}

/// Summarizes the archive `reader` holds; an error is a description.
fn read_archive(reader: impl Read, top: usize) -> Result<Summary, String> {
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut found = None;
    let entries = archive
        .entries()
        .map_err(|e| format!("not a tar.gz archive: {}", error_chain(&e)))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("not a tar.gz archive: {}", error_chain(&e)))?;
        if found.is_some() || !entry.header().entry_type().is_file() {
            continue;
        }
        let is_predictions = entry
            .path()
            .is_ok_and(|p| p.file_name() == Some(OsStr::new(PREDICTIONS_MEMBER)));
        if is_predictions {
            let mut builder = SummaryBuilder::new();
            read_lines(entry, &mut builder)
                .map_err(|e| format!("reading {PREDICTIONS_MEMBER}: {}", error_chain(&e)))?;
            found = Some(builder);
        }
        // A member not read is skipped when the next one is asked for.
    }
    // Read on to the end of the gzip stream (past tar's end blocks, only
    // padding normally), so that its length and CRC are checked.
    io::copy(&mut archive.into_inner(), &mut io::sink())
        .map_err(|e| format!("not a tar.gz archive: {}", error_chain(&e)))?;
    found
        .map(|b| b.finish(top))
        .ok_or_else(|| format!("no {PREDICTIONS_MEMBER} in the archive"))
}

/// Feeds every line of `reader` to `builder`, none longer than
/// [`MAX_LINE_BYTES`] held.
fn read_lines(reader: impl Read, builder: &mut SummaryBuilder) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let mut line = Vec::new();
    loop {
        match next_line(&mut reader, &mut line, MAX_LINE_BYTES)? {
            Line::End => return Ok(()),
            Line::Complete => builder.line(&line),
            Line::Overlong => builder.overlong_line(),
        }
    }
}

/// What [`next_line`] read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// A line, now in the buffer (without its newline).
    Complete,
    /// A line longer than the limit, read past and dropped.
    Overlong,
    /// The end of the input.
    End,
}

/// Reads the next line into `line` (cleared first). A line longer than
/// `max` bytes is read to its end without being kept.
pub(super) fn next_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> io::Result<Line> {
    line.clear();
    let mut any = false;
    let mut overlong = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(match (any, overlong) {
                (false, _) => Line::End,
                (true, true) => Line::Overlong,
                (true, false) => Line::Complete,
            });
        }
        any = true;
        let newline = buf.iter().position(|&b| b == b'\n');
        let part = &buf[..newline.unwrap_or(buf.len())];
        if !overlong {
            if line.len() + part.len() > max {
                overlong = true;
                line.clear();
            } else {
                line.extend_from_slice(part);
            }
        }
        let used = newline.map_or(buf.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(if overlong {
                Line::Overlong
            } else {
                Line::Complete
            });
        }
    }
}

/// An error with its causes: `failed to iterate over archive: invalid gzip
/// header`.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}
