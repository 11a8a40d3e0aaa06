//! Many teams, many AWS accounts: AccountMappings map namespaces to IAM
//! roles the operator assumes (STS AssumeRole against the stand-in, through
//! the AWS SDK's own provider), against the real API server. Run by
//! `make test`, which starts the environment.

use std::time::Duration;

use comprehend_operator::accounts::AccountMapping;
use comprehend_operator::classifier::crd::DocumentClassifier;
use comprehend_operator::job::ClassificationJob;
use comprehend_testkit::*;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const ROLE_A: &str = "arn:aws:iam::111111111111:role/team-a";
const ROLE_B: &str = "arn:aws:iam::222222222222:role/team-b";
const EXTERNAL_ID_B: &str = "team-b-external";
/// A team role in the stand-in's default account, where
/// `Standin::trained_classifier` trains.
const ROLE_HOME: &str = "arn:aws:iam::123456789012:role/team-home";
const EXTERNAL_ID_HOME: &str = "right-external-id";

/// Maps `namespace` to `role` (cluster-scoped, named after the namespace).
async fn map_namespace(client: &Client, namespace: &str, role: &str, external_id: Option<&str>) {
    let api: Api<AccountMapping> = Api::all(client.clone());
    let mut spec = json!({ "roleArn": role });
    if let Some(id) = external_id {
        spec["externalId"] = json!(id);
    }
    let mapping: AccountMapping = serde_json::from_value(json!({
        "apiVersion": "comprehend.operators.dev/v1alpha1",
        "kind": "AccountMapping",
        "metadata": { "name": namespace },
        "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &mapping)
        .await
        .expect("create AccountMapping");
}

/// A DocumentClassifier `news` trained in `namespace` (so in its mapped
/// account); answers its ARN.
async fn trained_in(client: &Client, namespace: &str) -> String {
    let api: Api<DocumentClassifier> = Api::namespaced(client.clone(), namespace);
    let dc: DocumentClassifier = serde_json::from_value(classifier_manifest(
        "news",
        "v1",
        "s3://training/news/train.csv",
        "Retain",
    ))
    .unwrap();
    api.create(&PostParams::default(), &dc)
        .await
        .expect("create DocumentClassifier");
    let dc = wait_classifier(&api, "news", "Ready=True", is_ready)
        .await
        .unwrap();
    dc.status.unwrap().document_classifier_arn.unwrap()
}

/// The stand-in's jobs of `account` (every job it holds carries its
/// account).
async fn jobs_in(standin: &Standin, account: &str) -> Vec<serde_json::Value> {
    standin.stats().await["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|j| j["account"] == account)
        .collect()
}

async fn with_training_data(standin: &Standin) {
    let s3 = standin.s3().await;
    ensure_bucket(&s3, "training").await;
    put(&s3, "training", "news/train.csv", TRAINING_CSV).await;
    standin.upload_documents("docs").await;
}

#[tokio::test]
async fn two_namespaces_mapped_to_two_accounts_run_in_their_own_accounts() {
    let client = client().await;
    install_crd(&client).await;
    let ns_a = namespace(&client, "acct-a").await;
    let ns_b = namespace(&client, "acct-b").await;
    let role_b = format!("{ROLE_B}={EXTERNAL_ID_B}");
    let standin = Standin::start(&[
        "--job-queued-secs",
        "0.2",
        "--job-running-secs",
        "0.5",
        "--training-secs",
        "0.5",
        "--role",
        ROLE_A,
        "--role",
        &role_b,
    ]);
    with_training_data(&standin).await;
    map_namespace(&client, &ns_a, ROLE_A, None).await;
    map_namespace(&client, &ns_b, ROLE_B, Some(EXTERNAL_ID_B)).await;
    let both = format!("{ns_a},{ns_b}");
    let _op = Operator::start(
        &both,
        &standin,
        &[
            "--sts-endpoint-url",
            &standin.endpoint,
            "--classifier-poll-interval",
            "0.3",
        ],
    );

    for (ns, account, role) in [(&ns_a, ACCOUNT_A, ROLE_A), (&ns_b, ACCOUNT_B, ROLE_B)] {
        // The classifier trains in the namespace's account, and the job
        // that names it by reference runs there too.
        let arn = trained_in(&client, ns).await;
        assert!(arn.contains(&format!(":{account}:")), "{arn}");
        let jobs: Api<ClassificationJob> = Api::namespaced(client.clone(), ns);
        create_job(&jobs, job_with_classifier_ref("daily", "news", "docs")).await;
        let job = wait_for(
            &jobs,
            "daily",
            Duration::from_secs(60),
            "Succeeded=True",
            |j| succeeded(j).as_deref() == Some("True"),
        )
        .await;
        let status = status_of(&job);
        assert_eq!(status.account.as_deref(), Some(account));
        assert_eq!(status.role_arn.as_deref(), Some(role));
        assert!(
            status
                .job_arn
                .as_deref()
                .is_some_and(|a| a.contains(&format!(":{account}:"))),
            "{status:?}"
        );
        let held = jobs_in(&standin, account).await;
        assert_eq!(held.len(), 1, "one job in account {account}: {held:?}");
        assert_eq!(held[0]["jobId"].as_str(), status.job_id.as_deref());
    }
    // Nothing ran with the operator's own identity.
    assert!(jobs_in(&standin, ACCOUNT).await.is_empty());
}

#[tokio::test]
async fn slots_are_counted_per_account() {
    let client = client().await;
    install_crd(&client).await;
    let ns_a = namespace(&client, "slots-a").await;
    let ns_b = namespace(&client, "slots-b").await;
    let standin = Standin::start(&[
        "--job-queued-secs",
        "0.2",
        "--job-running-secs",
        "0.5",
        "--training-secs",
        "0.5",
        // Headroom over the operator's 1 Start a second, so that a
        // refusal can only be the active-job cap, not network jitter.
        "--start-tps",
        "2",
        "--role",
        ROLE_A,
        "--role",
        ROLE_B,
    ]);
    with_training_data(&standin).await;
    map_namespace(&client, &ns_a, ROLE_A, None).await;
    map_namespace(&client, &ns_b, ROLE_B, None).await;
    let both = format!("{ns_a},{ns_b}");
    let _op = Operator::start(
        &both,
        &standin,
        &[
            "--sts-endpoint-url",
            &standin.endpoint,
            "--classifier-poll-interval",
            "0.3",
            "--max-active-jobs",
            "10",
        ],
    );
    let arn_a = trained_in(&client, &ns_a).await;
    let arn_b = trained_in(&client, &ns_b).await;

    // Account A's 11 jobs stay IN_PROGRESS until let go: 10 run, 1 waits.
    let held: Vec<String> = (0..11).map(|i| format!("held-a-{i}")).collect();
    standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({ "holdJobNames": held })),
        )
        .await;
    let jobs_a: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns_a);
    for name in &held {
        let mut manifest = job_manifest(name, &arn_a, "docs");
        manifest["spec"]["jobName"] = json!(name);
        create_job(&jobs_a, manifest).await;
    }
    let started_a = || async {
        let list = jobs_a.list(&Default::default()).await.unwrap();
        list.items
            .iter()
            .filter(|j| status_of(j).job_id.is_some())
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while started_a().await < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "A's jobs did not start"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // B's job is not queued behind A's.
    let jobs_b: Api<ClassificationJob> = Api::namespaced(client.clone(), &ns_b);
    create_job(&jobs_b, job_manifest("b-job", &arn_b, "docs")).await;
    let job_b = wait_for(
        &jobs_b,
        "b-job",
        Duration::from_secs(30),
        "Succeeded=True while account A is full",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(status_of(&job_b).account.as_deref(), Some(ACCOUNT_B));

    // A is at its cap: exactly 10 started, the 11th waits for a slot.
    assert_eq!(started_a().await, 10);
    let list = jobs_a.list(&Default::default()).await.unwrap();
    let queued: Vec<_> = list
        .items
        .iter()
        .filter(|j| cond(j, "Succeeded").is_some_and(|c| c.1 == "Queued"))
        .collect();
    assert_eq!(queued.len(), 1, "one of A's jobs waits for a slot");
    let message = cond(queued[0], "Succeeded").unwrap().2;
    assert!(message.contains(ACCOUNT_A), "{message}");

    // Let A's jobs go: all 11 end, never more than 10 active in A.
    standin
        .admin(
            "PUT",
            "/_standin/faults",
            Some(json!({ "holdJobNames": [] })),
        )
        .await;
    for name in &held {
        wait_for(
            &jobs_a,
            name,
            Duration::from_secs(60),
            "Succeeded=True",
            |j| succeeded(j).as_deref() == Some("True"),
        )
        .await;
    }
    let stats = standin.stats().await;
    assert_eq!(
        stats["accounts"][ACCOUNT_A]["maxActiveJobsSeen"].as_u64(),
        Some(10),
        "{stats:#}"
    );
    assert_eq!(
        stats["operations"]["StartDocumentClassificationJob"]["throttled"].as_u64(),
        Some(0),
        "no start was refused for the active-job cap"
    );
}

#[tokio::test]
async fn an_unmapped_namespace_is_refused_when_a_mapping_is_required() {
    let s = setup("unmapped", &["--role", ROLE_HOME]).await;
    let client = client().await;
    let _op = Operator::start(
        &s.ns,
        &s.standin,
        &[
            "--sts-endpoint-url",
            &s.standin.endpoint,
            "--require-account-mapping",
        ],
    );
    create_job(&s.api, job_manifest("refused", &s.classifier, "docs")).await;
    let job = wait_for(
        &s.api,
        "refused",
        Duration::from_secs(30),
        "Ready=False NoAccountMapping",
        |j| cond(j, "Ready").is_some_and(|c| c.0 == "False" && c.1 == "NoAccountMapping"),
    )
    .await;
    // Nothing is decided about the job, and nothing was started.
    assert_eq!(succeeded(&job).as_deref(), Some("Unknown"));
    let message = cond(&job, "Ready").unwrap().2;
    assert!(
        message.contains(&format!("AccountMapping {}", s.ns)),
        "{message}"
    );
    assert!(s.standin.stats().await["jobs"]
        .as_array()
        .unwrap()
        .is_empty());

    // A cluster admin maps the namespace: the job goes on by itself.
    map_namespace(&client, &s.ns, ROLE_HOME, None).await;
    let job = wait_for(
        &s.api,
        "refused",
        Duration::from_secs(60),
        "Succeeded=True once mapped",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(status_of(&job).role_arn.as_deref(), Some(ROLE_HOME));
    assert_eq!(status_of(&job).account.as_deref(), Some(ACCOUNT));
}

#[tokio::test]
async fn a_wrong_external_id_is_reported_and_recovers_once_fixed() {
    let role = format!("{ROLE_HOME}={EXTERNAL_ID_HOME}");
    let s = setup("external-id", &["--role", &role]).await;
    let client = client().await;
    map_namespace(&client, &s.ns, ROLE_HOME, Some("wrong-external-id")).await;
    let _op = Operator::start(
        &s.ns,
        &s.standin,
        &["--sts-endpoint-url", &s.standin.endpoint],
    );
    create_job(&s.api, job_manifest("ext", &s.classifier, "docs")).await;
    let job = wait_for(
        &s.api,
        "ext",
        Duration::from_secs(30),
        "Ready=False CredentialsUnavailable",
        |j| cond(j, "Ready").is_some_and(|c| c.0 == "False" && c.1 == "CredentialsUnavailable"),
    )
    .await;
    let message = cond(&job, "Ready").unwrap().2;
    assert!(message.contains("AccessDenied"), "the STS error: {message}");
    assert_eq!(succeeded(&job).as_deref(), Some("Unknown"));
    assert!(
        s.standin.stats().await["jobs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no job may start under a role that was not assumed"
    );

    // The admin fixes the external ID: the job starts, in the role's account.
    let mappings: Api<AccountMapping> = Api::all(client.clone());
    mappings
        .patch(
            &s.ns,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "externalId": EXTERNAL_ID_HOME } })),
        )
        .await
        .expect("patch AccountMapping");
    let job = wait_for(
        &s.api,
        "ext",
        Duration::from_secs(60),
        "Succeeded=True once the external ID is right",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(status_of(&job).role_arn.as_deref(), Some(ROLE_HOME));
    assert_eq!(
        s.standin
            .jobs_named(&status_of(&job).job_name.unwrap())
            .await,
        1
    );
}

#[tokio::test]
async fn short_lived_credentials_are_refreshed_before_they_expire() {
    // Credentials live 15 s; the job runs 25 s, followed all along.
    let s = setup(
        "refresh",
        &[
            "--role",
            ROLE_HOME,
            "--credential-seconds",
            "15",
            "--job-queued-secs",
            "0.5",
            "--job-running-secs",
            "25",
        ],
    )
    .await;
    let client = client().await;
    map_namespace(&client, &s.ns, ROLE_HOME, None).await;
    let _op = Operator::start(
        &s.ns,
        &s.standin,
        &["--sts-endpoint-url", &s.standin.endpoint],
    );
    create_job(&s.api, job_manifest("long", &s.classifier, "docs")).await;
    let job = wait_for(
        &s.api,
        "long",
        Duration::from_secs(90),
        "Succeeded=True",
        |j| succeeded(j).as_deref() == Some("True"),
    )
    .await;
    assert_eq!(status_of(&job).role_arn.as_deref(), Some(ROLE_HOME));
    let stats = s.standin.stats().await;
    let assumed = stats["operations"]["AssumeRole"]["ok"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        assumed >= 2,
        "credentials of 15 s over a 25 s job are assumed again: {assumed} AssumeRole calls"
    );
    assert_eq!(
        stats["expiredTokens"].as_u64(),
        Some(0),
        "no call went out with expired credentials: {stats:#}"
    );
}
