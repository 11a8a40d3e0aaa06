//! The HTTP front: `POST /` with `X-Amz-Target` for the Comprehend API
//! (the caller's account from its credentials, then faults and denied
//! operations, then the account's rate quota, then validation against the
//! service model, then the rules the model states only in prose, then the
//! operation in the caller's account), `POST /` without `X-Amz-Target` and
//! with a form body for STS (`sts.rs`), the admin API under `/_standin/`,
//! and AWS-shaped errors for anything else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use crate::accounts::Caller;
use crate::admin;
use crate::app::{App, Outcome};
use crate::faults::Verdict;
use crate::protocol::{ok_response, parse_body, ApiError, Operation};
use crate::validate::validate_request;
use crate::{classifiers, jobs, rules, sts, tags};

/// The router of one stand-in.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", post(api))
        .merge(admin::router())
        .fallback(fallback)
        .with_state(app)
}

async fn fallback() -> Response {
    ApiError::unknown_operation("No operation matches this request; send POST / with X-Amz-Target.")
        .into_response()
}

async fn api(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if sts::is_query_request(&headers, &body) {
        return sts::handle(&app, &headers, &body);
    }
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(op) = Operation::from_target(target) else {
        let message = if target.is_empty() {
            "Missing X-Amz-Target header".to_string()
        } else {
            format!("Operation {target} is not supported by this service.")
        };
        return ApiError::unknown_operation(message).into_response();
    };

    // The account is known before anything else happens to the call, as
    // AWS authenticates a request before the service sees it.
    let caller = match app.caller(&headers) {
        Ok(caller) => caller,
        Err(expired) => {
            tracing::debug!(access_key_id = %expired.0, operation = op.name(), "expired credentials");
            app.record_expired();
            app.record(op, Outcome::Error);
            return ApiError::expired_token().into_response();
        }
    };

    let (latency, verdict) = app.fault_verdict();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // A denied operation is refused before anything else, as IAM refuses
    // it before the service sees it (the verdict is still drawn, so a
    // seeded run stays in step).
    let result = match verdict {
        _ if app.denies(op) => Err(access_denied(&app, &caller, op)),
        Verdict::Throttle => Err(ApiError::too_many_requests("Rate exceeded")),
        Verdict::Fail => Err(ApiError::internal(
            "An internal error occurred (injected by the stand-in).",
        )),
        Verdict::Serve if !app.admit(&caller.account, op) => {
            Err(ApiError::too_many_requests("Rate exceeded"))
        }
        Verdict::Serve => parse_body(&body).and_then(|request| {
            validate_request(op, &request)?;
            rules::check(op, &request)?;
            dispatch(&app, &caller.account, op, &request)
        }),
    };
    match result {
        Ok(value) => {
            app.record(op, Outcome::Ok);
            ok_response(&value)
        }
        Err(error) => {
            let outcome = if error.code == "TooManyRequestsException" {
                Outcome::Throttled
            } else {
                Outcome::Error
            };
            app.record(op, outcome);
            tracing::debug!(operation = op.name(), error = %error, "request failed");
            error.into_response()
        }
    }
}

/// `AccessDeniedException` worded as IAM words it for an assumed role:
/// the role a caller with issued credentials assumed, or
/// `comprehend-standin-caller` in the default account.
fn access_denied(app: &App, caller: &Caller, op: Operation) -> ApiError {
    let action = format!("comprehend:{}", op.name());
    let who = if caller.arn.contains(":assumed-role/") {
        caller.arn.clone()
    } else {
        format!(
            "arn:aws:sts::{}:assumed-role/comprehend-standin-caller/session",
            app.account.id
        )
    };
    ApiError::access_denied(format!(
        "User: {who} is not authorized to perform: {action} because no identity-based policy \
         allows the {action} action"
    ))
}

fn dispatch(
    app: &Arc<App>,
    account: &str,
    op: Operation,
    request: &Value,
) -> Result<Value, ApiError> {
    match op {
        Operation::StartDocumentClassificationJob => jobs::start(app, account, request),
        Operation::DescribeDocumentClassificationJob => jobs::describe(app, account, request),
        Operation::ListDocumentClassificationJobs => jobs::list(app, account, request),
        Operation::CreateDocumentClassifier => classifiers::create(app, account, request),
        Operation::DescribeDocumentClassifier => classifiers::describe(app, account, request),
        Operation::ListDocumentClassifiers => classifiers::list(app, account, request),
        Operation::StopTrainingDocumentClassifier => {
            classifiers::stop_training(app, account, request)
        }
        Operation::DeleteDocumentClassifier => classifiers::delete(app, account, request),
        Operation::TagResource => tags::tag(app, account, request),
        Operation::UntagResource => tags::untag(app, account, request),
        Operation::ListTagsForResource => tags::list(app, account, request),
    }
}
