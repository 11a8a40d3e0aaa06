//! The awsJson1_1 wire protocol as Amazon Comprehend speaks it: operation
//! names from `X-Amz-Target`, AWS-shaped errors, epoch-second timestamps.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The `X-Amz-Target` prefix of every Comprehend operation.
pub const TARGET_PREFIX: &str = "Comprehend_20171127.";

/// The content type of awsJson1_1 requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The Comprehend operations this stand-in serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `StartDocumentClassificationJob`
    StartDocumentClassificationJob,
    /// `DescribeDocumentClassificationJob`
    DescribeDocumentClassificationJob,
    /// `ListDocumentClassificationJobs`
    ListDocumentClassificationJobs,
    /// `CreateDocumentClassifier`
    CreateDocumentClassifier,
    /// `DescribeDocumentClassifier`
    DescribeDocumentClassifier,
    /// `ListDocumentClassifiers`
    ListDocumentClassifiers,
    /// `StopTrainingDocumentClassifier`
    StopTrainingDocumentClassifier,
    /// `DeleteDocumentClassifier`
    DeleteDocumentClassifier,
    /// `TagResource`
    TagResource,
    /// `UntagResource`
    UntagResource,
    /// `ListTagsForResource`
    ListTagsForResource,
}

impl Operation {
    /// Every operation, in a fixed order.
    pub const ALL: [Operation; 11] = [
        Operation::StartDocumentClassificationJob,
        Operation::DescribeDocumentClassificationJob,
        Operation::ListDocumentClassificationJobs,
        Operation::CreateDocumentClassifier,
        Operation::DescribeDocumentClassifier,
        Operation::ListDocumentClassifiers,
        Operation::StopTrainingDocumentClassifier,
        Operation::DeleteDocumentClassifier,
        Operation::TagResource,
        Operation::UntagResource,
        Operation::ListTagsForResource,
    ];

    /// The operation's name as it appears in `X-Amz-Target`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::StartDocumentClassificationJob => "StartDocumentClassificationJob",
            Operation::DescribeDocumentClassificationJob => "DescribeDocumentClassificationJob",
            Operation::ListDocumentClassificationJobs => "ListDocumentClassificationJobs",
            Operation::CreateDocumentClassifier => "CreateDocumentClassifier",
            Operation::DescribeDocumentClassifier => "DescribeDocumentClassifier",
            Operation::ListDocumentClassifiers => "ListDocumentClassifiers",
            Operation::StopTrainingDocumentClassifier => "StopTrainingDocumentClassifier",
            Operation::DeleteDocumentClassifier => "DeleteDocumentClassifier",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::ListTagsForResource => "ListTagsForResource",
        }
    }

    /// Finds the operation named by a full `X-Amz-Target` value.
    pub fn from_target(target: &str) -> Option<Operation> {
        let name = target.strip_prefix(TARGET_PREFIX)?;
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// An error as the service reports it: an exception name, a message and
/// an HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The exception name, sent as `__type` and `x-amzn-errortype`.
    pub code: &'static str,
    /// The human-readable message, sent as `Message`.
    pub message: String,
    /// 400 for client errors, 500 for `InternalServerException`.
    pub status: StatusCode,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    /// `InvalidRequestException`: the request is invalid.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("InvalidRequestException", message)
    }

    /// `ValidationException`: the request breaks a constraint of the service
    /// model (length, pattern, enum, range, required member).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// `AccessDeniedException`: the caller may not call this operation.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDeniedException", message)
    }

    /// `UnsupportedLanguageException`: the language is not supported here.
    pub fn unsupported_language(message: impl Into<String>) -> Self {
        Self::new("UnsupportedLanguageException", message)
    }

    /// `InvalidFilterException`: the filter is invalid.
    pub fn invalid_filter(message: impl Into<String>) -> Self {
        Self::new("InvalidFilterException", message)
    }

    /// `TooManyRequestsException`: throttled or over a quota.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new("TooManyRequestsException", message)
    }

    /// `ResourceNotFoundException`: no resource has that ARN.
    pub fn resource_not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }

    /// `ResourceUnavailableException`: the resource exists but cannot be used now.
    pub fn resource_unavailable(message: impl Into<String>) -> Self {
        Self::new("ResourceUnavailableException", message)
    }

    /// `ResourceInUseException`: the name is taken or the resource is busy.
    pub fn resource_in_use(message: impl Into<String>) -> Self {
        Self::new("ResourceInUseException", message)
    }

    /// `JobNotFoundException`: no job has that id.
    pub fn job_not_found(message: impl Into<String>) -> Self {
        Self::new("JobNotFoundException", message)
    }

    /// `TooManyTagsException`: more than 50 tags on one resource.
    pub fn too_many_tags(message: impl Into<String>) -> Self {
        Self::new("TooManyTagsException", message)
    }

    /// `TooManyTagKeysException`: more than 50 keys in one untag call.
    pub fn too_many_tag_keys(message: impl Into<String>) -> Self {
        Self::new("TooManyTagKeysException", message)
    }

    /// `UnknownOperationException`: no such operation.
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new("UnknownOperationException", message)
    }

    /// `SerializationException`: the body is not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    /// `ExpiredTokenException`: the credentials of the request are past
    /// their expiration.
    pub fn expired_token() -> Self {
        Self::new(
            "ExpiredTokenException",
            "The security token included in the request is expired",
        )
    }

    /// `InternalServerException` with HTTP 500.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            ..Self::new("InternalServerException", message)
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "__type": self.code, "Message": self.message });
        let mut response = (self.status, json_headers(), body.to_string()).into_response();
        if let Ok(value) = HeaderValue::from_str(self.code) {
            response.headers_mut().insert("x-amzn-errortype", value);
        }
        response
    }
}

/// A successful awsJson1_1 response with the given JSON body.
pub fn ok_response(body: &Value) -> Response {
    (StatusCode::OK, json_headers(), body.to_string()).into_response()
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", value);
    }
    headers
}

/// A new request id, a random UUID as AWS gives them.
pub fn request_id() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        rand::random::<u32>(),
        rand::random::<u16>(),
        rand::random::<u16>() & 0xfff,
        rand::random::<u16>() & 0xfff,
        rand::random::<u64>() & 0xffff_ffff_ffff
    )
}

/// Parses a request body: an empty body is an empty object.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::serialization(format!("Request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::serialization(
            "Request body must be a JSON object",
        ));
    }
    Ok(value)
}

/// Seconds since the Unix epoch, as awsJson1_1 writes timestamps.
pub fn now_epoch() -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Millisecond precision, like the service.
    (now.as_millis() as f64) / 1000.0
}

/// An epoch-seconds timestamp in whole milliseconds, the service's precision.
/// Time filters compare in these: a timestamp the SDK read from a response
/// and sends back in a filter goes through its nanosecond `DateTime`, and the
/// float it comes back as can land a hair either side of the one stored.
pub fn epoch_millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// An epoch-seconds timestamp as a JSON number.
pub fn epoch_json(seconds: f64) -> Value {
    serde_json::Number::from_f64(seconds)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// An epoch-seconds timestamp in RFC 3339, for the admin API.
pub fn epoch_rfc3339(seconds: f64) -> String {
    let millis = epoch_millis(seconds);
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A string member of a request object.
pub fn str_member<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name).and_then(Value::as_str)
}

/// The default page size of the List operations.
pub const DEFAULT_MAX_RESULTS: usize = 100;

/// The prefix of the stand-in's `NextToken` values (a format version).
const TOKEN_PREFIX: &str = "p1";

/// A `NextToken`: the sort key (submit time, then id or ARN) of the last
/// item a page returned, hex-encoded. The next page starts after that item
/// in the sort order, so items added or removed meanwhile neither shift the
/// pages nor make them repeat or skip what was there before.
pub fn page_token(time: f64, id: &str) -> String {
    let mut token = format!("{TOKEN_PREFIX}{:016x}", time.to_bits());
    for byte in id.bytes() {
        token.push_str(&format!("{byte:02x}"));
    }
    token
}

/// The (submit time, id) a `NextToken` holds.
pub fn parse_page_token(token: &str) -> Option<(f64, String)> {
    let hex = token.strip_prefix(TOKEN_PREFIX)?;
    if hex.len() < 16 || hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let time = f64::from_bits(u64::from_str_radix(&hex[..16], 16).ok()?);
    let bytes = (16..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()?;
    Some((time, String::from_utf8(bytes).ok()?))
}

/// One page of `items` from `NextToken`/`MaxResults`, with the token of the
/// next page if there is one. `items` are sorted by `key` (submit time,
/// then id), ascending, or descending when `newest_first`.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> (f64, &str),
    newest_first: bool,
    request: &Value,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let start = match str_member(request, "NextToken") {
        None => 0,
        Some(token) => {
            let (time, id) = parse_page_token(token)
                .ok_or_else(|| ApiError::invalid_request(format!("Invalid NextToken: {token}")))?;
            items.partition_point(|item| {
                let (t, i) = key(item);
                let order = t.total_cmp(&time).then_with(|| i.cmp(id.as_str()));
                if newest_first {
                    order.is_ge()
                } else {
                    order.is_le()
                }
            })
        }
    };
    let size = request
        .get("MaxResults")
        .and_then(Value::as_u64)
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_MAX_RESULTS)
        .max(1);
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| {
        let (time, id) = key(&items[end - 1]);
        page_token(time, id)
    });
    let page: Vec<T> = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}

/// The members of a list `Filter` that are set; more than one is an
/// `InvalidFilterException`, as the service allows one filter per call.
pub fn single_filter<'a>(
    request: &'a Value,
    members: &[&str],
) -> Result<Option<(&'a str, &'a Value)>, ApiError> {
    let Some(filter) = request.get("Filter").and_then(Value::as_object) else {
        return Ok(None);
    };
    let set: Vec<(&'a str, &'a Value)> = filter
        .iter()
        .filter(|(k, v)| members.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    match set.len() {
        0 => Ok(None),
        1 => Ok(Some(set[0])),
        _ => Err(ApiError::invalid_filter(format!(
            "Only one filter can be set at a time; got {}",
            set.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Canonical JSON of a request without its `ClientRequestToken`, to tell a
/// replay from a different request under the same token.
pub fn fingerprint(request: &Value) -> String {
    let mut copy = request.clone();
    if let Some(object) = copy.as_object_mut() {
        object.remove("ClientRequestToken");
    }
    // serde_json's map is ordered by key, so this is canonical.
    copy.to_string()
}

/// A new 32-hex-character resource id.
pub fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_sent_back_through_the_sdk_is_the_same_millisecond() {
        // What a client does with SubmitTime before it filters on it: the
        // SDK reads the number into its nanosecond DateTime and writes it
        // back as digits, which serde_json reads (best-effort precision) as
        // the request's float. Compared as floats, some come back an ulp off
        // (a job then "submitted after" its own submit time); in
        // milliseconds none do.
        let mut off_as_float = 0;
        for millis in 0..20_000i64 {
            let stored = (1_764_000_000_000 + millis * 37) as f64 / 1000.0;
            let body = aws_smithy_types::DateTime::from_secs_f64(stored)
                .fmt(aws_smithy_types::date_time::Format::EpochSeconds)
                .unwrap();
            let sent = serde_json::from_str::<Value>(&body)
                .unwrap()
                .as_f64()
                .unwrap();
            if sent != stored {
                off_as_float += 1;
            }
            assert_eq!(epoch_millis(sent), epoch_millis(stored), "{stored}");
        }
        // The case the comparison in milliseconds exists for.
        assert!(off_as_float > 0);
    }

    #[test]
    fn targets_map_to_operations() {
        assert_eq!(
            Operation::from_target("Comprehend_20171127.StartDocumentClassificationJob"),
            Some(Operation::StartDocumentClassificationJob)
        );
        assert_eq!(
            Operation::from_target("Comprehend_20171127.DetectSentiment"),
            None
        );
        assert_eq!(
            Operation::from_target("StartDocumentClassificationJob"),
            None
        );
    }

    #[test]
    fn empty_body_is_an_empty_object() {
        assert_eq!(parse_body(b"").unwrap(), serde_json::json!({}));
        assert!(parse_body(b"[1]").is_err());
        assert!(parse_body(b"{").is_err());
    }

    fn ids(items: &[(f64, String)]) -> Vec<&str> {
        items.iter().map(|(_, id)| id.as_str()).collect()
    }

    fn page(
        items: &[(f64, String)],
        newest_first: bool,
        request: serde_json::Value,
    ) -> (Vec<(f64, String)>, Option<String>) {
        paginate(
            items.to_vec(),
            |(t, id)| (*t, id.as_str()),
            newest_first,
            &request,
        )
        .unwrap()
    }

    #[test]
    fn pages_follow_tokens() {
        let items: Vec<(f64, String)> = (0..5).map(|i| (f64::from(i), format!("id{i}"))).collect();
        let (first, next) = page(&items, false, serde_json::json!({"MaxResults": 2}));
        assert_eq!(ids(&first), ["id0", "id1"]);
        let next = next.unwrap();
        let (second, next) = page(
            &items,
            false,
            serde_json::json!({"MaxResults": 2, "NextToken": next}),
        );
        assert_eq!(ids(&second), ["id2", "id3"]);
        let (third, next) = page(
            &items,
            false,
            serde_json::json!({"MaxResults": 2, "NextToken": next.unwrap()}),
        );
        assert_eq!((ids(&third), next), (vec!["id4"], None));
        assert!(paginate(
            items,
            |(t, id)| (*t, id.as_str()),
            false,
            &serde_json::json!({"NextToken": "junk"})
        )
        .is_err());
    }

    #[test]
    fn pages_continue_after_the_last_item_whatever_arrives() {
        // Newest first, ties on time broken by id.
        let mut items: Vec<(f64, String)> = vec![
            (3.0, "c".into()),
            (2.0, "b2".into()),
            (2.0, "b1".into()),
            (1.0, "a".into()),
        ];
        let (first, next) = page(&items, true, serde_json::json!({"MaxResults": 2}));
        assert_eq!(ids(&first), ["c", "b2"]);
        // Newer items arrive at the front, one is removed from page 1.
        items.insert(0, (5.0, "e".into()));
        items.insert(0, (6.0, "f".into()));
        items.retain(|(_, id)| id != "c");
        let (second, next) = page(
            &items,
            true,
            serde_json::json!({"MaxResults": 2, "NextToken": next.unwrap()}),
        );
        assert_eq!(ids(&second), ["b1", "a"]);
        assert_eq!(next, None);
    }

    #[test]
    fn tokens_round_trip() {
        let arn = "arn:aws:comprehend:us-east-1:123456789012:document-classifier/x/version/v1";
        let token = page_token(1_700_000_000.123, arn);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(
            parse_page_token(&token),
            Some((1_700_000_000.123, arn.to_string()))
        );
        assert_eq!(parse_page_token("page-2"), None);
        assert_eq!(parse_page_token("p1zz"), None);
    }

    #[test]
    fn fingerprints_ignore_the_token() {
        let a = serde_json::json!({"JobName": "x", "ClientRequestToken": "t1"});
        let b = serde_json::json!({"ClientRequestToken": "t2", "JobName": "x"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&serde_json::json!({"JobName": "y"}))
        );
    }

    #[test]
    fn ids_are_32_hex() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn rfc3339_has_millis() {
        assert_eq!(epoch_rfc3339(1_700_000_000.123), "2023-11-14T22:13:20.123Z");
    }
}
