//! S3: the embedded file-system-backed server (s3s-fs, with SigV4 checked
//! against the static credentials `test`/`test` and the unexpired
//! credentials AssumeRole issued) and the client calls jobs make to read
//! input and write output.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Weak;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use hyper_util::rt::TokioIo;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Result};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The access key the embedded S3 server accepts.
pub const ACCESS_KEY: &str = "test";
/// The secret key the embedded S3 server accepts.
pub const SECRET_KEY: &str = "test";

/// A bucket and key (or key prefix) parsed from `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key or prefix, without the leading slash; may be empty.
    pub key: String,
}

impl S3Location {
    /// Parses `s3://bucket[/key]`.
    pub fn parse(uri: &str) -> Option<S3Location> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// Back to `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Why reading from or writing to S3 failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// The bucket does not exist.
    #[error("the bucket {0} does not exist")]
    NoSuchBucket(String),
    /// Any other failure.
    #[error("{0}")]
    Other(String),
}

fn classify<E: ProvideErrorMetadata + std::fmt::Debug>(
    bucket: &str,
    err: aws_sdk_s3::error::SdkError<E>,
) -> S3Error {
    if err.code() == Some("NoSuchBucket") {
        S3Error::NoSuchBucket(bucket.to_string())
    } else {
        let detail = err
            .message()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{err:?}"));
        S3Error::Other(format!("{}: {detail}", err.code().unwrap_or("S3 error")))
    }
}

/// An S3 client for `endpoint` with the static test credentials and
/// path-style addressing.
pub fn client(endpoint: &str, region: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            None,
            "comprehend-standin",
        ))
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The embedded S3 server's check of access keys: the static key
/// [`ACCESS_KEY`], and the keys AssumeRole issued (with their secrets)
/// until their expiration. Session tokens are not checked.
pub struct Auth {
    app: Weak<crate::app::App>,
}

impl Auth {
    /// Checks keys against the credentials `app` issued (and the static key).
    pub fn new(app: Weak<crate::app::App>) -> Auth {
        Auth { app }
    }
}

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == ACCESS_KEY {
            return Ok(SecretKey::from(SECRET_KEY));
        }
        let issued = self
            .app
            .upgrade()
            .and_then(|app| app.read(|store| store.credentials.get(access_key).cloned()));
        match issued {
            Some(issued) if issued.expired_at(crate::protocol::now_epoch()) => {
                Err(s3_error!(ExpiredToken, "The provided token has expired."))
            }
            Some(issued) => Ok(SecretKey::from(issued.secret_access_key)),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

/// Serves the S3 API for the files under `root` on `listener`, checking
/// SigV4 signatures with the secrets `auth` gives.
pub fn serve(listener: TcpListener, root: &Path, auth: Auth) -> anyhow::Result<JoinHandle<()>> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root)
        .map_err(|e| anyhow::anyhow!("cannot serve S3 from {}: {e:?}", root.display()))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(auth);
    let service = builder.build();
    Ok(tokio::spawn(async move {
        loop {
            let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "S3 accept failed");
                    continue;
                }
            };
            let service = service.clone();
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "S3 connection ended with an error");
                }
            });
        }
    }))
}

/// One object read from S3.
#[derive(Debug, Clone)]
pub struct S3Object {
    /// Its key.
    pub key: String,
    /// Its content.
    pub body: Vec<u8>,
}

/// Reads every object whose key starts with `location.key` (one object when
/// the key names it), in key order, skipping folder markers.
pub async fn read_prefix(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
) -> Result<Vec<S3Object>, S3Error> {
    let mut keys = Vec::new();
    let mut continuation: Option<String> = None;
    loop {
        let mut request = client
            .list_objects_v2()
            .bucket(&location.bucket)
            .prefix(&location.key);
        if let Some(token) = &continuation {
            request = request.continuation_token(token);
        }
        let page = request
            .send()
            .await
            .map_err(|e| classify(&location.bucket, e))?;
        for object in page.contents() {
            if let Some(key) = object.key() {
                if !key.ends_with('/') {
                    keys.push(key.to_string());
                }
            }
        }
        continuation = page.next_continuation_token().map(str::to_string);
        if continuation.is_none() || page.is_truncated() != Some(true) {
            break;
        }
    }
    keys.sort();
    let mut objects = Vec::with_capacity(keys.len());
    for key in keys {
        let output = client
            .get_object()
            .bucket(&location.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| classify(&location.bucket, e))?;
        let body = output
            .body
            .collect()
            .await
            .map_err(|e| {
                S3Error::Other(format!("cannot read s3://{}/{key}: {e}", location.bucket))
            })?
            .into_bytes()
            .to_vec();
        objects.push(S3Object { key, body });
    }
    Ok(objects)
}

/// Checks that the bucket of `location` exists. (s3s-fs would create a
/// missing bucket on PutObject, where S3 answers NoSuchBucket.)
pub async fn check_bucket(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
) -> Result<(), S3Error> {
    match client.head_bucket().bucket(&location.bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) => {
            let missing = err.raw_response().map(|r| r.status().as_u16()) == Some(404)
                || matches!(err.code(), Some("NotFound" | "NoSuchBucket"));
            Err(if missing {
                S3Error::NoSuchBucket(location.bucket.clone())
            } else {
                classify(&location.bucket, err)
            })
        }
    }
}

/// Writes the content of a file as one object, streaming it from the file
/// (a single PutObject: S3 takes up to 5 GB so, and s3s-fs streams the
/// body to disk).
pub async fn put_file(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    path: &Path,
) -> Result<(), S3Error> {
    check_bucket(client, location).await?;
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| S3Error::Other(format!("cannot read {}: {e}", path.display())))?;
    client
        .put_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .body(body)
        .send()
        .await
        .map_err(|e| classify(&location.bucket, e))?;
    Ok(())
}

/// Writes one object.
pub async fn put(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    body: Vec<u8>,
) -> Result<(), S3Error> {
    check_bucket(client, location).await?;
    client
        .put_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| classify(&location.bucket, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris() {
        assert_eq!(
            S3Location::parse("s3://bucket/a/b.txt"),
            Some(S3Location {
                bucket: "bucket".into(),
                key: "a/b.txt".into()
            })
        );
        assert_eq!(
            S3Location::parse("s3://bucket"),
            Some(S3Location {
                bucket: "bucket".into(),
                key: String::new()
            })
        );
        assert_eq!(S3Location::parse("https://bucket/x"), None);
    }
}
