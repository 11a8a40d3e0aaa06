//! The SDK-level tests, split like the code: `client` (region clients),
//! `pages` (the page limit of the listings), `jobs`, `classifiers` and
//! `errors`. Most drive `AwsComprehend` over a client whose answers come
//! from `aws-smithy-mocks` rules; the helpers they share are here, the full
//! requests in `fixtures`.

use aws_sdk_comprehend::config::retry::RetryConfig;
use aws_sdk_comprehend::Client;
use aws_smithy_mocks::{mock_client, Rule, RuleMode};

mod classifiers;
mod client;
mod errors;
mod fixtures;
mod jobs;
mod pages;

const CLASSIFIER: &str =
    "arn:aws:comprehend:eu-west-1:111122223333:document-classifier/news/version/v1";
const ROLE: &str = "arn:aws:iam::111122223333:role/comprehend-data";
/// 2024-05-01T12:00:00Z.
const NOON: i64 = 1_714_564_800;

/// A mocked client that makes exactly one attempt per call, so each rule
/// response corresponds to one observable result.
fn client_without_retries(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_comprehend, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}
