//! The admin API for tests, under `/_standin/` on the API port:
//!
//! - `POST /_standin/reset`: forget all jobs, classifiers, tags, tokens and
//!   counters (limits, faults, roles and issued credentials stay).
//! - `GET /_standin/stats`: per-operation counters (STS's `AssumeRole` and
//!   `GetCallerIdentity` too), `expiredTokens`, active jobs, the most active
//!   jobs seen at once (all accounts), per account (`accounts`) the same
//!   and the quota, and every job and classifier with its `account`.
//! - `GET`/`PUT /_standin/faults`: `{throttleFraction, errorFraction,
//!   latencyMs, failJobNames, holdJobNames, denyOperations, outputFaults,
//!   largeOutputs}`; a PUT changes only the members it gives (each given
//!   member replaced whole). `outputFaults` (`{<jobName>: "missing" |
//!   "malformedArchive" | "malformedLines" | "errors"}`) spoils the output
//!   of a job of that name, `largeOutputs` (`{<jobName>: <bytes>}`) makes
//!   it write a generated `predictions.jsonl` of about that size. A job whose name is in `holdJobNames` goes
//!   SUBMITTED -> IN_PROGRESS as usual and then stays IN_PROGRESS (active,
//!   against the active-job quota) until a PUT takes its name out of the
//!   set; from then on it proceeds as any job (to COMPLETED at once if its
//!   running time is over), e.g. jobs of another client that outlast a
//!   test.
//! - `GET`/`PUT /_standin/limits`: `{startTps, describeTps, listTps,
//!   classifierWriteTps, classifierReadTps, tagTps, listTagsTps,
//!   maxActiveJobs, jobQueuedSecs, jobRunningSecs, trainingSecs,
//!   deletingSecs}`; a PUT changes only the members it gives.
//! - `GET`/`PUT /_standin/roles`: `{roles: [{arn, externalId}],
//!   credentialSeconds}`; a PUT replaces the members it gives (`roles`
//!   whole; `credentialSeconds: null` removes the cap).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::app::{App, OperationStats};
use crate::protocol::{epoch_rfc3339, Operation};
use crate::sts;

/// The admin routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_standin/reset", post(reset))
        .route("/_standin/stats", get(stats))
        .route("/_standin/faults", get(get_faults).put(put_faults))
        .route("/_standin/limits", get(get_limits).put(put_limits))
        .route("/_standin/roles", get(get_roles).put(put_roles))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn bad_request(message: String) -> Response {
    json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

fn parse(body: &Bytes) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    json_response(StatusCode::OK, &json!({ "reset": true }))
}

/// The stats document.
pub fn stats_json(app: &App) -> Value {
    let stats = app.stats();
    let operations: serde_json::Map<String, Value> = Operation::ALL
        .iter()
        .map(|op| op.name())
        .chain(sts::OPERATIONS)
        .map(|name| {
            let counters = stats
                .operations
                .get(name)
                .cloned()
                .unwrap_or_else(OperationStats::default);
            (
                name.to_string(),
                serde_json::to_value(counters).unwrap_or_default(),
            )
        })
        .collect();
    let limits = app.limits();
    let roles = app.roles();
    let (active, mut jobs, classifiers, accounts) = app.read(|store| {
        let jobs: Vec<(f64, Value)> = store
            .jobs
            .values()
            .map(|job| {
                (
                    job.submit_time,
                    json!({
                        "account": job.account,
                        "jobId": job.job_id,
                        "jobName": job.job_name,
                        "status": job.status.as_str(),
                        "clientRequestToken": job.client_request_token,
                        "submitTime": epoch_rfc3339(job.submit_time),
                        "endTime": job.end_time.map(epoch_rfc3339),
                        "message": job.message,
                    }),
                )
            })
            .collect();
        let classifiers: Vec<Value> = store
            .classifiers
            .values()
            .map(|c| {
                json!({
                    "account": c.account,
                    "arn": c.arn,
                    "status": c.status.as_str(),
                    "submitTime": epoch_rfc3339(c.submit_time),
                    "message": c.message,
                })
            })
            .collect();
        // The default account, every account with records or a role, and
        // every account that has had an active job.
        let mut ids = store.accounts();
        ids.insert(app.account.id.clone());
        ids.extend(roles.roles.iter().map(|r| r.account().to_string()));
        ids.extend(stats.max_active_jobs_by_account.keys().cloned());
        let active_by_account = store.active_jobs_by_account();
        let accounts: serde_json::Map<String, Value> = ids
            .into_iter()
            .map(|id| {
                let active = active_by_account.get(&id).copied().unwrap_or(0);
                let seen = stats
                    .max_active_jobs_by_account
                    .get(&id)
                    .copied()
                    .unwrap_or(0)
                    .max(active);
                let entry = json!({
                    "activeJobs": active,
                    "maxActiveJobsSeen": seen,
                    "maxActiveJobs": limits.max_active_jobs,
                });
                (id, entry)
            })
            .collect();
        (store.active_jobs(), jobs, classifiers, accounts)
    });
    jobs.sort_by(|a, b| a.0.total_cmp(&b.0));
    json!({
        "operations": operations,
        "activeJobs": active,
        "maxActiveJobsSeen": stats.max_active_jobs.max(active),
        "expiredTokens": stats.expired_tokens,
        "accounts": accounts,
        "jobs": jobs.into_iter().map(|(_, j)| j).collect::<Vec<_>>(),
        "classifiers": classifiers,
    })
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, &stats_json(&app))
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(app.faults()).unwrap_or_default(),
    )
}

async fn put_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let patch = match parse(&body) {
        Ok(patch) => patch,
        Err(message) => return bad_request(message),
    };
    let mut faults = app.faults();
    if let Err(message) = faults.merge(&patch) {
        return bad_request(message);
    }
    app.set_faults(faults.clone());
    json_response(
        StatusCode::OK,
        &serde_json::to_value(faults).unwrap_or_default(),
    )
}

async fn get_limits(State(app): State<Arc<App>>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(app.limits()).unwrap_or_default(),
    )
}

async fn put_limits(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let patch = match parse(&body) {
        Ok(patch) => patch,
        Err(message) => return bad_request(message),
    };
    let mut limits = app.limits();
    if let Err(message) = limits.merge(&patch) {
        return bad_request(message);
    }
    app.set_limits(limits.clone());
    json_response(
        StatusCode::OK,
        &serde_json::to_value(limits).unwrap_or_default(),
    )
}

async fn get_roles(State(app): State<Arc<App>>) -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(app.roles()).unwrap_or_default(),
    )
}

async fn put_roles(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let patch = match parse(&body) {
        Ok(patch) => patch,
        Err(message) => return bad_request(message),
    };
    let mut roles = app.roles();
    if let Err(message) = roles.merge(&patch) {
        return bad_request(message);
    }
    app.set_roles(roles.clone());
    json_response(
        StatusCode::OK,
        &serde_json::to_value(roles).unwrap_or_default(),
    )
}
