//! AWS STS in the query protocol, as `aws-sdk-sts` (and so
//! `aws_config::sts::AssumeRoleProvider`) sends it: `POST /` without
//! `X-Amz-Target`, a form-encoded body with `Action` and
//! `Version=2011-06-15`, answered in STS's XML.
//!
//! - `AssumeRole`: the input is checked against the STS service model
//!   (`model/sts.json`, `ValidationError`); a role the stand-in does not
//!   have, or an external ID missing or different from the role's, is
//!   `AccessDenied` (403); otherwise fresh credentials for the role's
//!   account, valid `DurationSeconds` (3600 by default), at most
//!   `credentialSeconds` when that is set.
//! - `GetCallerIdentity`: the caller's account, user id and ARN.
//!
//! Credentials past their expiration are answered `ExpiredToken` (403).
//! Faults, rate quotas and denied operations do not apply to STS.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::accounts::Caller;
use crate::app::{App, Outcome};
use crate::protocol::request_id;
use crate::validate::{validate_input, Kind, ServiceModel, STS_MODEL};

/// The XML namespace of STS responses.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The API version STS requests give.
pub const VERSION: &str = "2011-06-15";

/// `DurationSeconds` when AssumeRole gives none.
pub const DEFAULT_DURATION_SECONDS: u64 = 3600;

/// The STS operations this stand-in serves.
pub const OPERATIONS: [&str; 2] = ["AssumeRole", "GetCallerIdentity"];

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut parts = pair.splitn(2, |b| *b == b'=');
            let name = url_decode(parts.next().unwrap_or_default());
            let value = url_decode(parts.next().unwrap_or_default());
            (name, value)
        })
        .collect()
}

fn url_decode(bytes: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a `POST /` is an STS query request: no `X-Amz-Target` and a
/// form body naming an `Action`.
pub fn is_query_request(headers: &HeaderMap, body: &[u8]) -> bool {
    if headers.contains_key("x-amz-target") {
        return false;
    }
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    form_type || parse_form(body).iter().any(|(name, _)| name == "Action")
}

/// An error as STS's query protocol reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct StsError {
    /// `Error/Code`.
    pub code: &'static str,
    /// `Error/Message`.
    pub message: String,
    /// 403 for `AccessDenied` and `ExpiredToken`, 400 otherwise.
    pub status: StatusCode,
}

impl StsError {
    fn new(code: &'static str, status: StatusCode, message: impl Into<String>) -> Self {
        StsError {
            code,
            message: message.into(),
            status,
        }
    }

    /// `AccessDenied` (403).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new("AccessDenied", StatusCode::FORBIDDEN, message)
    }

    /// `ValidationError` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", StatusCode::BAD_REQUEST, message)
    }

    /// `ExpiredToken` (403).
    pub fn expired_token() -> Self {
        Self::new(
            "ExpiredToken",
            StatusCode::FORBIDDEN,
            "The security token included in the request is expired",
        )
    }

    /// `InvalidAction` (400).
    pub fn invalid_action(message: impl Into<String>) -> Self {
        Self::new("InvalidAction", StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let id = request_id();
        let body = format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>Sender</Type>\n    \
             <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
             <RequestId>{id}</RequestId>\n</ErrorResponse>\n",
            self.code,
            escape(&self.message)
        );
        xml_response(self.status, body, &id)
    }
}

fn xml_response(status: StatusCode, body: String, id: &str) -> Response {
    let mut response = (status, [("content-type", "text/xml")], body).into_response();
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// Escapes text for an XML element (quotes stay as they are, as STS
/// leaves them in element text).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A successful response: `<{action}Response><{action}Result>{result}</...>`
/// and the request id.
fn ok_response(action: &str, result: &str) -> Response {
    let id = request_id();
    let body = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\">\n  <{action}Result>\n{result}  \
         </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{id}</RequestId>\n  \
         </ResponseMetadata>\n</{action}Response>\n"
    );
    xml_response(StatusCode::OK, body, &id)
}

/// Turns the form fields of a query request into the JSON of the shape
/// `shape` of `model` (`Tags.member.1.Key`, ... for lists), so the
/// validation of the JSON protocol applies; a value of the wrong type
/// (`DurationSeconds=abc`) is an error.
pub fn form_to_json(
    model: &ServiceModel,
    shape: usize,
    form: &[(String, String)],
    prefix: &str,
) -> Result<Option<Value>, String> {
    let field = |name: &str| {
        form.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let has_under = |name: &str| {
        let start = format!("{name}.");
        form.iter().any(|(n, _)| n.starts_with(&start))
    };
    let key = prefix.trim_end_matches('.');
    Ok(match &model.shapes[shape].kind {
        Kind::Str { .. } | Kind::Timestamp => field(key).map(|v| Value::String(v.to_string())),
        Kind::Int { .. } => match field(key) {
            None => None,
            Some(v) => Some(Value::from(v.trim().parse::<i64>().map_err(|_| {
                format!("Value '{v}' at '{key}' is not a valid integer")
            })?)),
        },
        Kind::Number => match field(key) {
            None => None,
            Some(v) => Some(
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("Value '{v}' at '{key}' is not a valid number"))?,
            ),
        },
        Kind::Bool => match field(key) {
            None => None,
            Some("true") => Some(Value::Bool(true)),
            Some("false") => Some(Value::Bool(false)),
            Some(v) => return Err(format!("Value '{v}' at '{key}' is not a valid boolean")),
        },
        Kind::Struct(members) => {
            if !prefix.is_empty() && !has_under(key) {
                return Ok(None);
            }
            let mut out = Map::new();
            for member in members {
                let name = format!("{prefix}{}", member.name);
                if let Some(value) = form_to_json(model, member.shape, form, &format!("{name}."))? {
                    out.insert(member.name.clone(), value);
                }
            }
            Some(Value::Object(out))
        }
        Kind::List { member, .. } => {
            // `Name=` alone is an empty list; items are `Name.member.N`.
            let start = format!("{key}.member.");
            let mut indexes: Vec<usize> = form
                .iter()
                .filter_map(|(n, _)| n.strip_prefix(&start))
                .filter_map(|rest| rest.split('.').next()?.parse().ok())
                .collect();
            indexes.sort_unstable();
            indexes.dedup();
            if indexes.is_empty() {
                return Ok(field(key).map(|_| Value::Array(Vec::new())));
            }
            let mut items = Vec::new();
            for index in indexes {
                let item = form_to_json(model, *member, form, &format!("{start}{index}."))?;
                items.push(item.unwrap_or(Value::Null));
            }
            Some(Value::Array(items))
        }
        Kind::Map { key: k, value, .. } => {
            let start = format!("{key}.entry.");
            let mut indexes: Vec<usize> = form
                .iter()
                .filter_map(|(n, _)| n.strip_prefix(&start))
                .filter_map(|rest| rest.split('.').next()?.parse().ok())
                .collect();
            indexes.sort_unstable();
            indexes.dedup();
            if indexes.is_empty() {
                return Ok(None);
            }
            let mut out = Map::new();
            for index in indexes {
                let entry = format!("{start}{index}.");
                let name = form_to_json(model, *k, form, &format!("{entry}key."))?;
                let item = form_to_json(model, *value, form, &format!("{entry}value."))?;
                if let Some(Value::String(name)) = name {
                    out.insert(name, item.unwrap_or(Value::Null));
                }
            }
            Some(Value::Object(out))
        }
    })
}

/// Answers one STS query request.
pub fn handle(app: &Arc<App>, headers: &HeaderMap, body: &[u8]) -> Response {
    let form = parse_form(body);
    let field = |name: &str| {
        form.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let action = field("Action").unwrap_or_default();
    let version = field("Version").unwrap_or_default();
    let Some(op) = OPERATIONS.into_iter().find(|op| *op == action) else {
        return StsError::invalid_action(format!(
            "Could not find operation {action} for version {version}"
        ))
        .into_response();
    };
    if version != VERSION {
        return StsError::invalid_action(format!(
            "Could not find operation {action} for version {version}"
        ))
        .into_response();
    }
    let result = match app.caller(headers) {
        Err(_) => {
            app.record_expired();
            Err(StsError::expired_token())
        }
        Ok(caller) => parse_input(op, &form).and_then(|input| match op {
            "AssumeRole" => assume_role(app, &caller, &input),
            _ => Ok(get_caller_identity(&caller)),
        }),
    };
    match result {
        Ok(response) => {
            app.record_call(op, Outcome::Ok);
            response
        }
        Err(error) => {
            app.record_call(op, Outcome::Error);
            tracing::debug!(operation = op, code = error.code, message = %error.message, "STS request failed");
            error.into_response()
        }
    }
}

/// The input of `op` as JSON, checked against the STS model.
fn parse_input(op: &str, form: &[(String, String)]) -> Result<Value, StsError> {
    let model = &*STS_MODEL;
    let spec = model
        .operations
        .get(op)
        .ok_or_else(|| StsError::invalid_action(format!("Could not find operation {op}")))?;
    let input = form_to_json(model, spec.input, form, "")
        .map_err(StsError::validation)?
        .unwrap_or_else(|| Value::Object(Map::new()));
    validate_input(model, op, &input).map_err(|e| StsError::validation(e.message))?;
    Ok(input)
}

fn assume_role(app: &Arc<App>, caller: &Caller, input: &Value) -> Result<Response, StsError> {
    let role_arn = input["RoleArn"].as_str().unwrap_or_default();
    let session_name = input["RoleSessionName"].as_str().unwrap_or_default();
    let external_id = input.get("ExternalId").and_then(Value::as_str);
    let seconds = input
        .get("DurationSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_DURATION_SECONDS);
    let denied = || {
        StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.arn
        ))
    };
    let roles = app.roles();
    let role = roles.role(role_arn).ok_or_else(denied)?;
    if role.external_id.is_some() && role.external_id.as_deref() != external_id {
        return Err(denied());
    }
    let issued = app.issue(role, session_name, seconds);
    let expiration = chrono::DateTime::from_timestamp(issued.expiration, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let result = format!(
        "    <AssumedRoleUser>\n      <AssumedRoleId>{}</AssumedRoleId>\n      \
         <Arn>{}</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      \
         <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      \
         <SessionToken>{}</SessionToken>\n      <Expiration>{expiration}</Expiration>\n    \
         </Credentials>\n",
        escape(&issued.assumed_role_id),
        escape(&issued.assumed_role_arn()),
        issued.access_key_id,
        escape(&issued.secret_access_key),
        escape(&issued.session_token),
    );
    Ok(ok_response("AssumeRole", &result))
}

fn get_caller_identity(caller: &Caller) -> Response {
    let result = format!(
        "    <Arn>{}</Arn>\n    <UserId>{}</UserId>\n    <Account>{}</Account>\n",
        escape(&caller.arn),
        escape(&caller.user_id),
        caller.account
    );
    ok_response("GetCallerIdentity", &result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let form = parse_form(
            b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa&X=a+b&Y=%zz&Z=%4",
        );
        assert_eq!(form[0], ("Action".into(), "AssumeRole".into()));
        assert_eq!(form[1].1, "arn:aws:iam::1:role/a");
        assert_eq!(form[2].1, "a b");
        assert_eq!(form[3].1, "%zz");
        assert_eq!(form[4].1, "%4");
    }

    #[test]
    fn forms_become_the_model_json() {
        let model = &*STS_MODEL;
        let input = model.operations["AssumeRole"].input;
        let form = parse_form(
            b"Action=AssumeRole&RoleArn=arn&RoleSessionName=s&DurationSeconds=900\
              &Tags.member.1.Key=k1&Tags.member.1.Value=v1&Tags.member.2.Key=k2\
              &Tags.member.2.Value=v2&TransitiveTagKeys.member.1=k1\
              &PolicyArns.member.1.arn=arn%3Ap",
        );
        let json = form_to_json(model, input, &form, "").unwrap().unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "RoleArn": "arn",
                "RoleSessionName": "s",
                "DurationSeconds": 900,
                "Tags": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}],
                "TransitiveTagKeys": ["k1"],
                "PolicyArns": [{"arn": "arn:p"}],
            })
        );
        let bad = parse_form(b"DurationSeconds=abc");
        assert!(form_to_json(model, input, &bad, "").is_err());
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;\"'");
    }
}
