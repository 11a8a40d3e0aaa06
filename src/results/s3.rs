//! [`Outputs`] on top of `aws-sdk-s3`: GetObject with the S3 client that
//! [`AwsComprehend`] builds next to its Comprehend client, from the same
//! per-(role, Region) config, so a job's output is read with the identity
//! and in the Region the job ran with. And [`Outputs`] for [`Limited`], so
//! the reads are counted in the metrics with the Comprehend calls.

use async_trait::async_trait;

use super::{parse_s3_uri, OutputStream, Outputs};
use crate::comprehend::limited::Limited;
use crate::comprehend::sdk::{bare_code, classify_error_with, kind_for_code, AwsComprehend};
use crate::comprehend::{AwsError, ErrorKind, Place};

/// The operation name in the call metrics.
pub const GET_OBJECT: &str = "GetObject";

/// How the controller should react to an S3 error code: `SlowDown` and
/// KMS throttling are throttling; a missing object or bucket, a refusal and
/// a KMS key that cannot be used are not worth retrying; expired or unknown
/// credentials are a credentials failure. Codes S3 shares with other
/// services, and unknown ones, are judged by [`kind_for_code`].
pub fn kind_for_s3_code(code: &str) -> ErrorKind {
    let code = bare_code(code);
    if let Some(kms) = code
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("kms."))
        .map(|_| &code[4..])
    {
        return match kms {
            "ThrottlingException" => ErrorKind::Throttled,
            "KMSInternalException" | "DependencyTimeoutException" => ErrorKind::Transient,
            // Disabled, NotFound, KMSInvalidState, AccessDenied,
            // InvalidKeyUsage, ...: the key cannot decrypt this object.
            _ => ErrorKind::InvalidSpec,
        };
    }
    match code {
        "SlowDown" => ErrorKind::Throttled,
        "NoSuchKey"
        | "NoSuchBucket"
        | "AccessDenied"
        | "AllAccessDisabled"
        | "InvalidObjectState"
        | "InvalidBucketName"
        | "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "InvalidRequest" => ErrorKind::InvalidSpec,
        "ExpiredToken"
        | "InvalidToken"
        | "TokenRefreshRequired"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch" => ErrorKind::Credentials,
        _ => kind_for_code(code),
    }
}

#[async_trait]
impl Outputs for AwsComprehend {
    async fn open(&self, at: &Place, s3_uri: &str) -> Result<OutputStream, AwsError> {
        let object = parse_s3_uri(s3_uri)?;
        let client = self.s3_client(at).await?;
        let answer = client
            .get_object()
            .bucket(object.bucket)
            .key(object.key)
            .send()
            .await
            .map_err(|e| classify_error_with(&e, kind_for_s3_code))?;
        Ok(Box::new(answer.body.into_async_read()))
    }
}

/// Counts each open as a `GetObject` call; S3's request rates are far above
/// anything the operator does, so no budget is taken.
#[async_trait]
impl<C: Outputs> Outputs for Limited<C> {
    async fn open(&self, at: &Place, s3_uri: &str) -> Result<OutputStream, AwsError> {
        self.counted(at, GET_OBJECT, self.inner().open(at, s3_uri))
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use aws_sdk_s3::config::retry::RetryConfig;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::error::NoSuchKey;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::comprehend::limited::Rates;
    use crate::comprehend::sdk::AwsComprehend;
    use crate::results::fake::FakeOutputs;
    use crate::telemetry::Metrics;

    const URI: &str = "s3://out/news/111122223333-CLN-abc/output/output.tar.gz";

    fn s3_without_retries(rules: &[&Rule]) -> aws_sdk_s3::Client {
        mock_client!(aws_sdk_s3, RuleMode::MatchAny, rules, |c| c
            .retry_config(RetryConfig::disabled()))
    }

    /// An [`AwsComprehend`] whose S3 answers come from `rules`.
    fn aws(rules: &[&Rule]) -> AwsComprehend {
        let none: &[&Rule] = &[];
        let comprehend = mock_client!(aws_sdk_comprehend, RuleMode::MatchAny, none);
        AwsComprehend::with_client(comprehend).with_s3_client(s3_without_retries(rules))
    }

    fn service_error(code: &str) -> GetObjectError {
        GetObjectError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message(format!("{code} says no"))
                .build(),
        )
    }

    #[test]
    fn s3_codes_map_to_kinds() {
        for (code, kind) in [
            ("SlowDown", ErrorKind::Throttled),
            ("KMS.ThrottlingException", ErrorKind::Throttled),
            ("NoSuchKey", ErrorKind::InvalidSpec),
            ("NoSuchBucket", ErrorKind::InvalidSpec),
            ("AccessDenied", ErrorKind::InvalidSpec),
            ("KMS.DisabledException", ErrorKind::InvalidSpec),
            ("KMS.NotFoundException", ErrorKind::InvalidSpec),
            ("kms.AccessDeniedException", ErrorKind::InvalidSpec),
            ("KMS.KMSInternalException", ErrorKind::Transient),
            ("ExpiredToken", ErrorKind::Credentials),
            ("InternalError", ErrorKind::Transient),
            ("ServiceUnavailable", ErrorKind::Transient),
            // Shared with the Comprehend table.
            ("ThrottlingException", ErrorKind::Throttled),
            ("AccessDeniedException", ErrorKind::InvalidSpec),
            ("SomethingNew", ErrorKind::Transient),
            ("KMS", ErrorKind::Transient),
        ] {
            assert_eq!(kind_for_s3_code(code), kind, "{code}");
        }
    }

    #[tokio::test]
    async fn get_object_reads_the_named_object() {
        let rule = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| {
                r.bucket() == Some("out")
                    && r.key() == Some("news/111122223333-CLN-abc/output/output.tar.gz")
            })
            .then_output(|| {
                GetObjectOutput::builder()
                    .body(ByteStream::from_static(b"archive bytes"))
                    .build()
            });
        let aws = aws(&[&rule]);
        let mut stream = aws.open(&Place::own("eu-west-1"), URI).await.unwrap();
        let mut body = Vec::new();
        stream.read_to_end(&mut body).await.unwrap();
        assert_eq!(body, b"archive bytes");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn get_object_errors_carry_the_s3_code_and_kind() {
        let cases = [
            ("NoSuchBucket", ErrorKind::InvalidSpec),
            ("AccessDenied", ErrorKind::InvalidSpec),
            ("KMS.DisabledException", ErrorKind::InvalidSpec),
            ("SlowDown", ErrorKind::Throttled),
            ("InternalError", ErrorKind::Transient),
        ];
        for (code, kind) in cases {
            let rule =
                mock!(aws_sdk_s3::Client::get_object).then_error(move || service_error(code));
            let err = aws(&[&rule])
                .open(&Place::own("eu-west-1"), URI)
                .await
                .err()
                .expect("an error");
            assert_eq!((err.code.as_str(), err.kind), (code, kind), "{err}");
            assert_eq!(err.message, format!("{code} says no"));
        }
        // The modeled NoSuchKey too.
        let rule = mock!(aws_sdk_s3::Client::get_object).then_error(|| {
            GetObjectError::NoSuchKey(
                NoSuchKey::builder()
                    .message("The specified key does not exist.")
                    .meta(ErrorMetadata::builder().code("NoSuchKey").build())
                    .build(),
            )
        });
        let err = aws(&[&rule])
            .open(&Place::own("eu-west-1"), URI)
            .await
            .err()
            .expect("an error");
        assert_eq!(
            (err.code.as_str(), err.kind),
            ("NoSuchKey", ErrorKind::InvalidSpec)
        );
    }

    #[tokio::test]
    async fn a_bad_uri_is_refused_before_any_call() {
        let rule = mock!(aws_sdk_s3::Client::get_object)
            .then_output(|| GetObjectOutput::builder().build());
        let aws = aws(&[&rule]);
        let err = aws
            .open(&Place::own("eu-west-1"), "https://out/x.tar.gz")
            .await
            .err()
            .expect("an error");
        assert_eq!(
            (err.code.as_str(), err.kind),
            ("InvalidS3Uri", ErrorKind::InvalidSpec)
        );
        assert_eq!(rule.num_calls(), 0);
    }

    #[tokio::test]
    async fn reads_are_counted_as_get_object() {
        let fake = FakeOutputs::default();
        fake.put(URI, b"x".to_vec());
        let metrics = Arc::new(Metrics::new());
        let rates = Rates {
            start: 1.0,
            describe: 1.0,
            list: 1.0,
            classifier: 1.0,
        };
        let limited = Limited::new(fake, rates, metrics.clone());
        let at = Place::own("eu-west-1");
        assert!(limited.open(&at, URI).await.is_ok());
        assert!(limited.open(&at, "s3://out/missing").await.is_err());
        let text = metrics.encode();
        for needle in [
            "aws_calls_total{operation=\"GetObject\",account=\"default\",outcome=\"ok\"} 1",
            "aws_calls_total{operation=\"GetObject\",account=\"default\",outcome=\"invalid_spec\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
