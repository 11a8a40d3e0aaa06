//! STS and accounts, through the real SDKs: AssumeRole with aws-sdk-sts,
//! `aws_config::sts::AssumeRoleProvider` feeding an aws-sdk-comprehend
//! client, accounts kept apart, per-account quotas, expired and refreshed
//! credentials, and the snapshot of two accounts.

mod common;

use std::time::{Duration, Instant};

use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_sdk_comprehend::config::{Credentials, ProvideCredentials, Region};
use aws_sdk_comprehend::types::{DocumentClassifierInputDataConfig, LanguageCode, ModelStatus};
use aws_sdk_comprehend::Client;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use common::*;
use comprehend_standin::{Config, Role};
use serde_json::json;

/// The account of [`ROLE_A`].
const ACCOUNT_A: &str = "111122223333";
/// A role in account A, with an external ID.
const ROLE_A: &str = "arn:aws:iam::111122223333:role/team-a";
const EXTERNAL_ID_A: &str = "ext-team-a";
/// The account of [`ROLE_B`].
const ACCOUNT_B: &str = "444455556666";
/// A role in account B, without an external ID.
const ROLE_B: &str = "arn:aws:iam::444455556666:role/path/team-b";
/// The default account (`Config::default()`).
const DEFAULT_ACCOUNT: &str = "123456789012";

fn roles() -> Vec<Role> {
    vec![
        Role {
            arn: ROLE_A.into(),
            external_id: Some(EXTERNAL_ID_A.into()),
        },
        Role {
            arn: ROLE_B.into(),
            external_id: None,
        },
    ]
}

fn config_with_roles() -> Config {
    Config {
        roles: roles(),
        ..fast_config()
    }
}

/// The SDK configuration the operator has: the stand-in as endpoint (STS
/// included), static base credentials `test`/`test`, retries off.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

async fn sts_client(endpoint: &str) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(&sdk_config(endpoint).await)
}

/// An AssumeRoleProvider for `role`, as the operator builds one.
async fn role_provider(
    endpoint: &str,
    role: &str,
    external_id: Option<&str>,
) -> AssumeRoleProvider {
    let mut builder = AssumeRoleProvider::builder(role)
        .session_name("standin-test")
        .configure(&sdk_config(endpoint).await);
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    builder.build().await
}

/// A Comprehend client with these credentials (retries off).
fn comprehend_with(endpoint: &str, provider: impl ProvideCredentials + 'static) -> Client {
    let config = aws_sdk_comprehend::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(provider)
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// A Comprehend client in the account of `role`, through AssumeRoleProvider.
async fn role_client(endpoint: &str, role: &str, external_id: Option<&str>) -> Client {
    comprehend_with(endpoint, role_provider(endpoint, role, external_id).await)
}

/// Trains a classifier from [`TRAINING_CSV`] with `client` and waits until
/// it is TRAINED.
async fn trained_with(h: &Harness, client: &Client, name: &str) -> String {
    let _ = h.s3.create_bucket().bucket("train").send().await;
    h.put("train", &format!("{name}.csv"), TRAINING_CSV).await;
    let arn = client
        .create_document_classifier()
        .document_classifier_name(name)
        .data_access_role_arn(ROLE)
        .language_code(LanguageCode::En)
        .input_data_config(
            DocumentClassifierInputDataConfig::builder()
                .s3_uri(format!("s3://train/{name}.csv"))
                .build(),
        )
        .send()
        .await
        .expect("classifier created")
        .document_classifier_arn()
        .expect("ARN")
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = client
            .describe_document_classifier()
            .document_classifier_arn(&arn)
            .send()
            .await
            .expect("describe classifier")
            .document_classifier_properties()
            .and_then(|p| p.status().cloned())
            .expect("status");
        if status == ModelStatus::Trained {
            return arn;
        }
        assert!(Instant::now() < deadline, "{arn} still {status:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_with(
    client: &Client,
    name: &str,
    classifier: &str,
) -> Result<
    String,
    aws_sdk_comprehend::error::SdkError<
        aws_sdk_comprehend::operation::start_document_classification_job::StartDocumentClassificationJobError,
    >,
>{
    client
        .start_document_classification_job()
        .job_name(name)
        .document_classifier_arn(classifier)
        .data_access_role_arn(ROLE)
        .input_data_config(input("s3://docs/in/"))
        .output_data_config(output("s3://out/results/"))
        .send()
        .await
        .map(|out| out.job_id().expect("job id").to_string())
}

async fn job_ids(client: &Client) -> Vec<String> {
    client
        .list_document_classification_jobs()
        .send()
        .await
        .expect("list jobs")
        .document_classification_job_properties_list()
        .iter()
        .filter_map(|p| p.job_id().map(str::to_string))
        .collect()
}

async fn classifier_arns(client: &Client) -> Vec<String> {
    client
        .list_document_classifiers()
        .send()
        .await
        .expect("list classifiers")
        .document_classifier_properties_list()
        .iter()
        .filter_map(|p| p.document_classifier_arn().map(str::to_string))
        .collect()
}

async fn stats(h: &Harness) -> serde_json::Value {
    comprehend_standin::admin::stats_json(h.running.app())
}

#[tokio::test]
async fn assume_role_answers_as_sts_does() {
    let h = Harness::start(config_with_roles()).await;
    let sts = sts_client(h.running.endpoint()).await;

    // Without issued credentials the caller is the default account's user.
    let me = sts.get_caller_identity().send().await.expect("identity");
    assert_eq!(me.account(), Some(DEFAULT_ACCOUNT));
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/standin"));

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let out = sts
        .assume_role()
        .role_arn(ROLE_A)
        .role_session_name("session-1")
        .external_id(EXTERNAL_ID_A)
        .send()
        .await
        .expect("AssumeRole");
    let creds = out.credentials().expect("credentials");
    let key = creds.access_key_id();
    assert_eq!(key.len(), 20, "{key}");
    assert!(key.starts_with("ASIA"), "{key}");
    assert!(key[4..]
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    assert!(!creds.secret_access_key().is_empty());
    assert!(!creds.session_token().is_empty());
    let expires = creds.expiration().secs();
    assert!(
        (before + 3599..=before + 3601).contains(&expires),
        "expiration {expires}, now {before}"
    );
    let user = out.assumed_role_user().expect("assumed role user");
    assert_eq!(
        user.arn(),
        "arn:aws:sts::111122223333:assumed-role/team-a/session-1"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":session-1"));

    // DurationSeconds is honoured.
    let short = sts
        .assume_role()
        .role_arn(ROLE_B)
        .role_session_name("session-2")
        .duration_seconds(900)
        .send()
        .await
        .expect("AssumeRole B");
    let expires = short.credentials().unwrap().expiration().secs();
    assert!(
        (before + 899..=before + 901).contains(&expires),
        "{expires}"
    );

    // The issued credentials are the role's account.
    let as_a = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&sdk_config(h.running.endpoint()).await)
            .credentials_provider(Credentials::new(
                key,
                creds.secret_access_key(),
                Some(creds.session_token().to_string()),
                None,
                "issued",
            ))
            .build(),
    );
    let me = as_a.get_caller_identity().send().await.expect("identity A");
    assert_eq!(me.account(), Some(ACCOUNT_A));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/team-a/session-1")
    );
    assert_eq!(me.user_id(), Some(user.assumed_role_id()));

    // Refusals: unknown role, missing or wrong external ID.
    let denied = |message: &str, role: &str| {
        assert_eq!(
            message,
            format!(
                "User: arn:aws:iam::123456789012:user/standin is not authorized to perform: \
                 sts:AssumeRole on resource: {role}"
            )
        );
    };
    let unknown = "arn:aws:iam::111122223333:role/nobody";
    for (role, external_id) in [(unknown, None), (ROLE_A, None), (ROLE_A, Some("wrong-id"))] {
        let err = sts
            .assume_role()
            .role_arn(role)
            .role_session_name("s1")
            .set_external_id(external_id.map(str::to_string))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
        let err = err.into_service_error();
        assert_eq!(err.code(), Some("AccessDenied"), "{err:?}");
        denied(err.message().unwrap(), role);
    }

    // Validation against the STS model.
    let err = sts
        .assume_role()
        .role_arn(ROLE_B)
        .role_session_name("bad name")
        .duration_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert_eq!(
        err.message(),
        Some(
            "2 validation errors detected: Value '60' at 'durationSeconds' failed to satisfy \
             constraint: Member must have value greater than or equal to 900; Value 'bad name' \
             at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular \
             expression pattern: [\\w+=,.@-]*"
        )
    );
    let err = sts
        .assume_role()
        .role_arn(ROLE_B)
        .role_session_name("ok")
        .external_id("x")
        .duration_seconds(43201)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert!(err.message().unwrap().contains("'externalId'"), "{err:?}");
    assert!(err.message().unwrap().contains("43200"), "{err:?}");

    let counters = stats(&h).await;
    assert_eq!(
        counters["operations"]["AssumeRole"],
        json!({"calls": 7, "ok": 2, "throttled": 0, "errors": 5})
    );
    assert_eq!(counters["operations"]["GetCallerIdentity"]["ok"], 2);
}

#[tokio::test]
async fn sts_xml_has_the_service_layout() {
    let h = Harness::start(config_with_roles()).await;
    let endpoint = h.running.endpoint();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let ok = raw_request(
        endpoint,
        "POST",
        "/",
        &form,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fpath%2Fteam-b&RoleSessionName=s1",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("content-type"), Some("text/xml"));
    for part in [
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">",
        "<AssumeRoleResult>",
        "<Credentials>",
        "<AccessKeyId>ASIA",
        "<SecretAccessKey>",
        "<SessionToken>",
        "<Expiration>",
        "</Credentials>",
        "<AssumedRoleUser>",
        "<Arn>arn:aws:sts::444455556666:assumed-role/team-b/s1</Arn>",
        "</AssumeRoleResult>",
        "<ResponseMetadata>",
        "<RequestId>",
        "</AssumeRoleResponse>",
    ] {
        assert!(ok.body.contains(part), "{part} missing from {}", ok.body);
    }

    let who = raw_request(
        endpoint,
        "POST",
        "/",
        &form,
        "Action=GetCallerIdentity&Version=2011-06-15",
    )
    .await;
    assert_eq!(who.status, 200);
    assert!(who.body.contains(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    assert!(who.body.contains("<Account>123456789012</Account>"));

    let denied = raw_request(
        endpoint,
        "POST",
        "/",
        &form,
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A999999999999%3Arole%2Fx&RoleSessionName=s1",
    )
    .await;
    assert_eq!(denied.status, 403);
    for part in [
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">",
        "<Error>",
        "<Type>Sender</Type>",
        "<Code>AccessDenied</Code>",
        "<Message>User: arn:aws:iam::123456789012:user/standin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/x</Message>",
        "</Error>",
        "<RequestId>",
        "</ErrorResponse>",
    ] {
        assert!(denied.body.contains(part), "{part} missing from {}", denied.body);
    }

    let unknown = raw_request(
        endpoint,
        "POST",
        "/",
        &form,
        "Action=GetSessionToken&Version=2011-06-15",
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("<Code>InvalidAction</Code>"));
}

#[tokio::test]
async fn assumed_roles_keep_their_accounts_apart() {
    let h = Harness::start(config_with_roles()).await;
    let endpoint = h.running.endpoint();
    h.bucket("docs").await;
    h.bucket("out").await;
    h.put("docs", "in/a.txt", "the team won the football match\n")
        .await;
    let default = &h.comprehend;
    let team_a = role_client(endpoint, ROLE_A, Some(EXTERNAL_ID_A)).await;

    let classifier_a = trained_with(&h, &team_a, "shared-name").await;
    assert_eq!(
        classifier_a,
        "arn:aws:comprehend:us-east-1:111122223333:document-classifier/shared-name"
    );
    // The same name in the default account is another classifier.
    let classifier_default = trained_with(&h, default, "shared-name").await;
    assert_eq!(
        classifier_default,
        "arn:aws:comprehend:us-east-1:123456789012:document-classifier/shared-name"
    );
    assert_eq!(classifier_arns(&team_a).await, vec![classifier_a.clone()]);
    assert_eq!(
        classifier_arns(default).await,
        vec![classifier_default.clone()]
    );

    // Another account's classifier is not found, by Describe or by Start.
    let err = default
        .describe_document_classifier()
        .document_classifier_arn(&classifier_a)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = start_with(&team_a, "cross", &classifier_default)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = team_a
        .list_tags_for_resource()
        .resource_arn(&classifier_default)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");

    let job_a = start_with(&team_a, "job-a", &classifier_a).await.unwrap();
    let job_default = start_with(default, "job-default", &classifier_default)
        .await
        .unwrap();
    assert_eq!(job_ids(&team_a).await, vec![job_a.clone()]);
    assert_eq!(job_ids(default).await, vec![job_default.clone()]);

    // Describe of another account's job is JobNotFoundException.
    let err = default
        .describe_document_classification_job()
        .job_id(&job_a)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");
    let err = team_a
        .describe_document_classification_job()
        .job_id(&job_default)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");

    // The job runs in account A: its ARN and output carry the account.
    let deadline = Instant::now() + Duration::from_secs(20);
    let properties = loop {
        let properties = team_a
            .describe_document_classification_job()
            .job_id(&job_a)
            .send()
            .await
            .unwrap()
            .document_classification_job_properties()
            .cloned()
            .unwrap();
        if properties.job_status() == Some(&aws_sdk_comprehend::types::JobStatus::Completed) {
            break properties;
        }
        assert!(Instant::now() < deadline, "{properties:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        properties.job_arn(),
        Some(
            format!("arn:aws:comprehend:us-east-1:{ACCOUNT_A}:document-classification-job/{job_a}")
                .as_str()
        )
    );
    let uri = properties
        .output_data_config()
        .unwrap()
        .s3_uri()
        .to_string();
    assert_eq!(
        uri,
        format!("s3://out/results/{ACCOUNT_A}-CLN-{job_a}/output/output.tar.gz")
    );
    let (_, predictions) = read_output(&h, &uri).await;
    assert_eq!(predictions.len(), 1);

    // Idempotency tokens are per account: the same token in two accounts
    // starts two jobs.
    let with_token = |client: &Client, classifier: &str| {
        client
            .start_document_classification_job()
            .job_name("tokened")
            .client_request_token("same-token")
            .document_classifier_arn(classifier)
            .data_access_role_arn(ROLE)
            .input_data_config(input("s3://docs/in/"))
            .output_data_config(output("s3://out/results/"))
            .send()
    };
    let first = with_token(&team_a, &classifier_a).await.unwrap();
    let second = with_token(default, &classifier_default).await.unwrap();
    assert_ne!(first.job_id(), second.job_id());
    let again = with_token(&team_a, &classifier_a).await.unwrap();
    assert_eq!(first.job_id(), again.job_id());

    let counters = stats(&h).await;
    let accounts_of = |list: &str| -> Vec<(String, String)> {
        counters[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                (
                    j["account"].as_str().unwrap().to_string(),
                    j[if list == "jobs" { "jobName" } else { "arn" }]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    };
    assert!(accounts_of("jobs").contains(&(ACCOUNT_A.into(), "job-a".into())));
    assert!(accounts_of("jobs").contains(&(DEFAULT_ACCOUNT.into(), "job-default".into())));
    assert!(accounts_of("classifiers").contains(&(ACCOUNT_A.into(), classifier_a.clone())));
    for account in [ACCOUNT_A, ACCOUNT_B, DEFAULT_ACCOUNT] {
        assert_eq!(
            counters["accounts"][account]["maxActiveJobs"], 10,
            "{counters}"
        );
    }
    assert!(counters["operations"]["AssumeRole"]["ok"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn the_active_job_quota_is_per_account() {
    let mut config = config_with_roles();
    config.limits.max_active_jobs = 1;
    config.faults.hold_job_names = ["held".to_string()].into();
    let h = Harness::start(config).await;
    let endpoint = h.running.endpoint();
    let team_b = role_client(endpoint, ROLE_B, None).await;
    let classifier_b = trained_with(&h, &team_b, "quota-b").await;
    let classifier_default = trained_with(&h, &h.comprehend, "quota-default").await;

    start_with(&team_b, "held", &classifier_b).await.unwrap();
    let err = start_with(&team_b, "held", &classifier_b)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_requests_exception(), "{err:?}");
    assert!(
        err.message().unwrap().contains("Concurrent job limit"),
        "{err:?}"
    );

    // Account B at its cap does not stop the default account.
    start_with(&h.comprehend, "held", &classifier_default)
        .await
        .unwrap();

    let counters = stats(&h).await;
    assert_eq!(counters["activeJobs"], 2, "{counters}");
    assert_eq!(counters["accounts"][ACCOUNT_B]["activeJobs"], 1);
    assert_eq!(counters["accounts"][ACCOUNT_B]["maxActiveJobs"], 1);
    assert_eq!(counters["accounts"][ACCOUNT_B]["maxActiveJobsSeen"], 1);
    assert_eq!(counters["accounts"][DEFAULT_ACCOUNT]["activeJobs"], 1);
    assert_eq!(counters["accounts"][ACCOUNT_A]["activeJobs"], 0);
}

#[tokio::test]
async fn rate_quotas_are_per_account() {
    let mut config = config_with_roles();
    config.limits.describe_tps = 1.0;
    let h = Harness::start(config).await;
    let team_b = role_client(h.running.endpoint(), ROLE_B, None).await;
    let describe = |client: &Client| {
        client
            .describe_document_classification_job()
            .job_id("missing")
            .send()
    };
    let err = describe(&h.comprehend)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");
    let err = describe(&h.comprehend)
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_too_many_requests_exception(), "{err:?}");
    // Account B has a full bucket of its own.
    let err = describe(&team_b).await.unwrap_err().into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn expired_credentials_are_refused() {
    let mut config = config_with_roles();
    config.credential_seconds = Some(1);
    let h = Harness::start(config).await;
    let endpoint = h.running.endpoint();
    let out = sts_client(endpoint)
        .await
        .assume_role()
        .role_arn(ROLE_B)
        .role_session_name("short")
        .send()
        .await
        .expect("AssumeRole");
    let creds = out.credentials().unwrap();
    let expires = creds.expiration().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        expires as f64 - now <= 1.0,
        "capped at 1 s: {expires} {now}"
    );
    let client = comprehend_with(
        endpoint,
        Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "issued",
        ),
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let err = client
        .list_document_classification_jobs()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("ExpiredTokenException"), "{err:?}");
    assert_eq!(
        err.message(),
        Some("The security token included in the request is expired")
    );
    let counters = stats(&h).await;
    assert_eq!(counters["expiredTokens"], 1);
    assert_eq!(
        counters["operations"]["ListDocumentClassificationJobs"]["errors"],
        1
    );

    // The static key is the default account, as before.
    assert!(job_ids(&h.comprehend).await.is_empty());
}

#[tokio::test]
async fn the_provider_refreshes_short_lived_credentials() {
    let h = Harness::start(config_with_roles()).await;
    let endpoint = h.running.endpoint();
    // Credentials of 20 s: the SDK's cache renews them 10-15 s before
    // they expire, so 25 s of calls cross at least one expiry.
    let put = raw_request(
        endpoint,
        "PUT",
        "/_standin/roles",
        &[("Content-Type", "application/json")],
        r#"{"credentialSeconds": 20}"#,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.json()["credentialSeconds"], 20);
    assert_eq!(put.json()["roles"].as_array().unwrap().len(), 2);

    let team_a = role_client(endpoint, ROLE_A, Some(EXTERNAL_ID_A)).await;
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(25) {
        team_a
            .list_document_classification_jobs()
            .send()
            .await
            .expect("calls keep working across expiry");
        calls += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let counters = stats(&h).await;
    assert_eq!(counters["expiredTokens"], 0, "{counters}");
    let assumed = counters["operations"]["AssumeRole"]["ok"].as_u64().unwrap();
    assert!(assumed >= 2, "credentials were never renewed: {counters}");
    assert_eq!(
        counters["operations"]["ListDocumentClassificationJobs"]["ok"],
        calls
    );
}

#[tokio::test]
async fn roles_can_change_at_run_time() {
    let h = Harness::fast().await;
    let endpoint = h.running.endpoint();
    let sts = sts_client(endpoint).await;
    let assume = || {
        sts.assume_role()
            .role_arn(ROLE_B)
            .role_session_name("s1")
            .send()
    };
    let err = assume().await.unwrap_err().into_service_error();
    assert_eq!(err.code(), Some("AccessDenied"));

    let json_type = [("Content-Type", "application/json")];
    let put = raw_request(
        endpoint,
        "PUT",
        "/_standin/roles",
        &json_type,
        &json!({"roles": [{"arn": ROLE_B}, {"arn": ROLE_A, "externalId": EXTERNAL_ID_A}]})
            .to_string(),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assume().await.expect("role B now exists");

    let got = raw_request(endpoint, "GET", "/_standin/roles", &[], "").await;
    assert_eq!(
        got.json(),
        json!({
            "roles": [{"arn": ROLE_B}, {"arn": ROLE_A, "externalId": EXTERNAL_ID_A}],
            "credentialSeconds": null
        })
    );
    let bad = raw_request(
        endpoint,
        "PUT",
        "/_standin/roles",
        &json_type,
        r#"{"roles": [{"arn": "arn:aws:iam::12:role/x"}]}"#,
    )
    .await;
    assert_eq!(bad.status, 400);
    let bad = raw_request(
        endpoint,
        "PUT",
        "/_standin/roles",
        &json_type,
        r#"{"bogus": 1}"#,
    )
    .await;
    assert_eq!(bad.status, 400);

    // Replacing the list takes role B away.
    let put = raw_request(
        endpoint,
        "PUT",
        "/_standin/roles",
        &json_type,
        r#"{"roles": []}"#,
    )
    .await;
    assert_eq!(put.status, 200);
    let err = assume().await.unwrap_err().into_service_error();
    assert_eq!(err.code(), Some("AccessDenied"));
}

#[tokio::test]
async fn the_snapshot_keeps_two_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let s3_root = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        s3_root: Some(s3_root.path().to_path_buf()),
        ..config_with_roles()
    };
    let h = Harness::start(config.clone()).await;
    let endpoint = h.running.endpoint().to_string();
    let team_a = role_client(&endpoint, ROLE_A, Some(EXTERNAL_ID_A)).await;
    let classifier_a = trained_with(&h, &team_a, "snap-a").await;
    let classifier_default = trained_with(&h, &h.comprehend, "snap-default").await;
    let job_a = start_with(&team_a, "job-a", &classifier_a).await.unwrap();
    let job_default = start_with(&h.comprehend, "job-default", &classifier_default)
        .await
        .unwrap();
    let out = sts_client(&endpoint)
        .await
        .assume_role()
        .role_arn(ROLE_A)
        .role_session_name("before-restart")
        .external_id(EXTERNAL_ID_A)
        .send()
        .await
        .expect("AssumeRole");
    let creds = out.credentials().unwrap();
    let issued = Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        None,
        "issued",
    );
    h.running.shutdown().await;

    let h = Harness::start(config).await;
    let endpoint = h.running.endpoint().to_string();
    let team_a = role_client(&endpoint, ROLE_A, Some(EXTERNAL_ID_A)).await;
    assert_eq!(job_ids(&team_a).await, vec![job_a.clone()]);
    assert_eq!(classifier_arns(&team_a).await, vec![classifier_a]);
    assert_eq!(job_ids(&h.comprehend).await, vec![job_default]);
    assert_eq!(
        classifier_arns(&h.comprehend).await,
        vec![classifier_default]
    );
    let err = h
        .comprehend
        .describe_document_classification_job()
        .job_id(&job_a)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_job_not_found_exception(), "{err:?}");
    let counters = stats(&h).await;
    let accounts: Vec<&str> = counters["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts.len(), 2);
    assert!(accounts.contains(&ACCOUNT_A) && accounts.contains(&DEFAULT_ACCOUNT));

    // Credentials issued before the restart still name account A.
    let client = comprehend_with(&endpoint, issued);
    assert_eq!(job_ids(&client).await, vec![job_a]);
}
