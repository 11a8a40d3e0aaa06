//! The HTTP front: `POST /` with `X-Amz-Target` for the Comprehend API
//! (faults and denied operations, then rate quota, then validation against
//! the service model, then the rules the model states only in prose, then
//! the operation), the admin
//! API under `/_standin/`, and AWS-shaped errors for anything else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use crate::admin;
use crate::app::{App, Outcome};
use crate::faults::Verdict;
use crate::protocol::{ok_response, parse_body, ApiError, Operation};
use crate::validate::validate_request;
use crate::{classifiers, jobs, rules, tags};

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

    let (latency, verdict) = app.fault_verdict();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // A denied operation is refused before anything else, as IAM refuses
    // it before the service sees it (the verdict is still drawn, so a
    // seeded run stays in step).
    let result = match verdict {
        _ if app.denies(op) => Err(access_denied(&app, op)),
        Verdict::Throttle => Err(ApiError::too_many_requests("Rate exceeded")),
        Verdict::Fail => Err(ApiError::internal(
            "An internal error occurred (injected by the stand-in).",
        )),
        Verdict::Serve if !app.admit(op) => Err(ApiError::too_many_requests("Rate exceeded")),
        Verdict::Serve => parse_body(&body).and_then(|request| {
            validate_request(op, &request)?;
            rules::check(op, &request)?;
            dispatch(&app, op, &request)
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

/// `AccessDeniedException` worded as IAM words it for an assumed role.
fn access_denied(app: &App, op: Operation) -> ApiError {
    let action = format!("comprehend:{}", op.name());
    ApiError::access_denied(format!(
        "User: arn:aws:sts::{}:assumed-role/comprehend-standin-caller/session is not authorized \
         to perform: {action} because no identity-based policy allows the {action} action",
        app.account.id
    ))
}

fn dispatch(app: &Arc<App>, op: Operation, request: &Value) -> Result<Value, ApiError> {
    match op {
        Operation::StartDocumentClassificationJob => jobs::start(app, request),
        Operation::DescribeDocumentClassificationJob => jobs::describe(app, request),
        Operation::ListDocumentClassificationJobs => jobs::list(app, request),
        Operation::CreateDocumentClassifier => classifiers::create(app, request),
        Operation::DescribeDocumentClassifier => classifiers::describe(app, request),
        Operation::ListDocumentClassifiers => classifiers::list(app, request),
        Operation::StopTrainingDocumentClassifier => classifiers::stop_training(app, request),
        Operation::DeleteDocumentClassifier => classifiers::delete(app, request),
        Operation::TagResource => tags::tag(app, request),
        Operation::UntagResource => tags::untag(app, request),
        Operation::ListTagsForResource => tags::list(app, request),
    }
}
