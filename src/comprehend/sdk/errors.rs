//! Every SDK failure reduced to an [`AwsError`], whose [`ErrorKind`] tells
//! the controller whether to back off and retry or to give up on the spec.

use aws_sdk_comprehend::config::http::HttpResponse;
use aws_sdk_comprehend::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

use crate::comprehend::{AwsError, ErrorKind};

/// An answer we cannot use. Transient: a well-behaved endpoint never sends
/// one, so retrying is the least surprising reaction.
pub(super) fn malformed(message: &str) -> AwsError {
    AwsError {
        kind: ErrorKind::Transient,
        code: "ResponseError".to_owned(),
        message: message.to_owned(),
    }
}

/// A request we could not even assemble: retrying the same spec will not help.
pub(super) fn build_error(err: BuildError) -> AwsError {
    AwsError {
        kind: ErrorKind::InvalidSpec,
        code: "InvalidRequest".to_owned(),
        message: DisplayErrorContext(&err).to_string(),
    }
}

/// How the controller should react to an AWS error code.
///
/// Throttling codes are [`ErrorKind::Throttled`]; codes that say the request
/// itself is wrong (or names something that does not exist or cannot be
/// used) are [`ErrorKind::InvalidSpec`]; `JobNotFoundException` is
/// [`ErrorKind::JobNotFound`]; everything else, unknown codes included, is
/// [`ErrorKind::Transient`], since giving up on a job over an error we do
/// not understand would be worse than retrying it with backoff.
///
/// Codes are accepted bare (`TooManyRequestsException`) or in the qualified
/// forms some protocols use (`com.amazonaws.comprehend#TooManyRequestsException`,
/// `TooManyRequestsException:http://...`).
pub fn kind_for_code(code: &str) -> ErrorKind {
    match bare_code(code) {
        "TooManyRequestsException"
        | "ThrottlingException"
        | "Throttling"
        | "RequestLimitExceeded" => ErrorKind::Throttled,
        "InvalidRequestException"
        | "KmsKeyValidationException"
        | "ResourceNotFoundException"
        | "ResourceUnavailableException"
        | "TooManyTagsException"
        | "ResourceInUseException"
        | "ResourceLimitExceededException"
        | "InvalidFilterException"
        | "UnsupportedLanguageException"
        | "ValidationException"
        | "AccessDeniedException" => ErrorKind::InvalidSpec,
        "JobNotFoundException" => ErrorKind::JobNotFound,
        _ => ErrorKind::Transient,
    }
}

/// An error code without the qualifications some protocols and proxies add
/// (`com.amazonaws.comprehend#X`, `X:http://...`): `X`.
pub fn bare_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim()
}

/// Reduces any SDK failure of a Comprehend operation to an [`AwsError`]:
/// [`classify_error_with`] and Comprehend's codes ([`kind_for_code`]).
pub fn classify_error<E>(err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    classify_error_with(err, kind_for_code)
}

/// Reduces any SDK failure to an [`AwsError`], judging service error codes
/// with `kind_for` (each service has its own codes; the rest is common).
///
/// Service errors are recognised by the `code()` of their error metadata, not
/// by the SDK's modeled enum, because an endpoint (the stand-in, a proxy) may
/// answer with codes the SDK does not map onto a variant. Failures that never
/// produced a service answer get a short code: `Timeout`, `Dispatch`,
/// `ResponseError` (all transient) and `InvalidRequest` (the request could not
/// be built, so retrying it cannot help). An answer without a code is judged
/// by its HTTP status: 5xx is a transient `InternalServerException`, 429 a
/// throttling `TooManyRequestsException`.
pub fn classify_error_with<E>(
    err: &SdkError<E, HttpResponse>,
    kind_for: fn(&str) -> ErrorKind,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(creds) = credentials_error(err) {
        return creds;
    }
    // The full display chain carries the underlying cause (e.g. "connection
    // refused"), which the top-level message alone leaves out.
    let chain = || DisplayErrorContext(err).to_string();
    let (kind, code, message) = match err {
        SdkError::ConstructionFailure(_) => (ErrorKind::InvalidSpec, "InvalidRequest", chain()),
        SdkError::TimeoutError(_) => (ErrorKind::Transient, "Timeout", chain()),
        SdkError::DispatchFailure(_) => (ErrorKind::Transient, "Dispatch", chain()),
        // An answer the SDK could not parse, e.g. a 500 with an empty body
        // from a proxy. Its status still says whose fault it was.
        SdkError::ResponseError(re) => {
            let (kind, code) = kind_for_status(re.raw().status().as_u16())
                .unwrap_or((ErrorKind::Transient, "ResponseError"));
            (kind, code, chain())
        }
        SdkError::ServiceError(se) => {
            let service_err = se.err();
            let message = service_err
                .message()
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| DisplayErrorContext(service_err).to_string());
            if let Some(code) = service_err.code().filter(|c| !c.is_empty()) {
                return AwsError {
                    kind: kind_for(code),
                    code: code.to_owned(),
                    message,
                };
            }
            let status = se.raw().status().as_u16();
            let (kind, code) = kind_for_status(status).unwrap_or((ErrorKind::Transient, "Unknown"));
            (kind, code, format!("HTTP {status}: {message}"))
        }
        // `SdkError` is non-exhaustive; a future variant is treated as
        // something to retry, like any error we do not understand.
        _ => (ErrorKind::Transient, "Unknown", chain()),
    };
    AwsError {
        kind,
        code: code.to_owned(),
        message,
    }
}

/// A call that failed because its credentials could not be had: the SDK
/// reports it as a construction or dispatch failure, whose source chain
/// holds the provider's `CredentialsError` (and, for an assumed role, STS's
/// own error). Nothing reached the service, so the call is retried, never
/// judged as a refused spec. The code is STS's (`AccessDenied`, ...) when
/// the chain has it.
fn credentials_error(err: &(dyn std::error::Error + 'static)) -> Option<AwsError> {
    let mut source = Some(err);
    let mut creds = None;
    let mut code = None;
    while let Some(e) = source {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            creds.get_or_insert(c);
        }
        if let Some(sts) = e.downcast_ref::<AssumeRoleError>() {
            code = sts.code().map(str::to_owned);
        }
        source = e.source();
    }
    let creds = creds?;
    Some(AwsError {
        kind: ErrorKind::Credentials,
        code: code.unwrap_or_else(|| "CredentialsError".to_owned()),
        message: DisplayErrorContext(creds).to_string(),
    })
}

/// The kind and code implied by the HTTP status of an answer that carries no
/// error code: 5xx is the service failing, 429 is throttling. Anything else
/// says too little to name.
fn kind_for_status(status: u16) -> Option<(ErrorKind, &'static str)> {
    match status {
        500..=599 => Some((ErrorKind::Transient, "InternalServerException")),
        429 => Some((ErrorKind::Throttled, "TooManyRequestsException")),
        _ => None,
    }
}
