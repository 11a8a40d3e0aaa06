//! Leader election against a real kube-apiserver (tests/env/with-env.sh):
//! only one candidate holds the Lease at a time, a released Lease passes to
//! the waiting candidate at once, an abandoned one only after it expires.

use std::time::Duration;

use comprehend_operator::leader::{LeaderElection, LeadershipLost};
use comprehend_testkit::{client, namespace};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::DeleteParams;
use kube::{Api, Client};
use tokio::time::{timeout, Instant};

const LEASE: &str = "comprehend-operator";
// Short timings keep the test fast; the ratios are client-go's defaults.
const LEASE_DURATION: Duration = Duration::from_secs(3);
const RENEW_DEADLINE: Duration = Duration::from_secs(2);
const RETRY_PERIOD: Duration = Duration::from_millis(400);

async fn cleanup(client: &Client, ns: &str) {
    let _ = Api::<Namespace>::all(client.clone())
        .delete(ns, &DeleteParams::default())
        .await;
}

fn candidate(client: &Client, ns: &str, identity: &str) -> LeaderElection {
    LeaderElection::new(client.clone(), ns, LEASE, identity).with_timings(
        LEASE_DURATION,
        RENEW_DEADLINE,
        RETRY_PERIOD,
    )
}

async fn holder(client: &Client, ns: &str) -> (Option<String>, i32) {
    let lease = Api::<Lease>::namespaced(client.clone(), ns)
        .get(LEASE)
        .await
        .expect("read the lease");
    let spec = lease.spec.unwrap_or_default();
    (spec.holder_identity, spec.lease_transitions.unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_leader_at_a_time_and_release_hands_over_at_once() {
    let client = client().await;
    let ns = namespace(&client, "leader-release").await;
    let a = std::sync::Arc::new(candidate(&client, &ns, "a"));
    let b = std::sync::Arc::new(candidate(&client, &ns, "b"));

    // Both race for the missing Lease: exactly one gets it.
    let mut race_a = tokio::spawn({
        let a = a.clone();
        async move { a.acquire().await }
    });
    let mut race_b = tokio::spawn({
        let b = b.clone();
        async move { b.acquire().await }
    });
    let (leader, follower, mut waiting) = tokio::select! {
        r = &mut race_a => { r.unwrap().unwrap(); (a.clone(), b.clone(), race_b) }
        r = &mut race_b => { r.unwrap().unwrap(); (b.clone(), a.clone(), race_a) }
    };
    assert_eq!(
        holder(&client, &ns).await,
        (Some(leader.identity().to_string()), 0)
    );

    // While the leader renews, the follower keeps waiting, well past the
    // lease duration.
    let renewing = tokio::spawn({
        let leader = leader.clone();
        async move { leader.renew_until_lost().await }
    });
    assert!(
        timeout(LEASE_DURATION * 3, &mut waiting).await.is_err(),
        "{} acquired a lease that {} was renewing",
        follower.identity(),
        leader.identity()
    );
    assert_eq!(
        holder(&client, &ns).await.0.as_deref(),
        Some(leader.identity())
    );

    // A clean shutdown: stop renewing, release. The follower takes over
    // within a retry period or two, not a lease duration.
    renewing.abort();
    let released = Instant::now();
    leader.release().await;
    timeout(LEASE_DURATION, &mut waiting)
        .await
        .expect("the follower takes a released lease at once")
        .unwrap()
        .unwrap();
    assert!(released.elapsed() < LEASE_DURATION);
    assert_eq!(
        holder(&client, &ns).await,
        (Some(follower.identity().to_string()), 1)
    );

    // The old leader does not get it back, and its release is a no-op.
    leader.release().await;
    assert_eq!(
        leader.renew_until_lost().await,
        LeadershipLost::HeldByOther {
            holder: Some(follower.identity().to_string())
        }
    );
    assert_eq!(
        holder(&client, &ns).await.0.as_deref(),
        Some(follower.identity())
    );

    cleanup(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_lease_is_taken_only_after_it_expires() {
    let client = client().await;
    let ns = namespace(&client, "leader-expiry").await;
    let a = candidate(&client, &ns, "a");
    let b = std::sync::Arc::new(candidate(&client, &ns, "b"));

    a.acquire().await.unwrap();
    let mut waiting = tokio::spawn({
        let b = b.clone();
        async move { b.acquire().await }
    });
    // "a" renews for a while (a crash-free leader), then stops without
    // releasing: a crash.
    let renewing = timeout(LEASE_DURATION * 2, a.renew_until_lost()).await;
    assert!(
        renewing.is_err(),
        "a lost the lease while renewing: {renewing:?}"
    );
    let last_renewal_at_latest = Instant::now();

    timeout(LEASE_DURATION * 4, &mut waiting)
        .await
        .expect("b takes an expired lease")
        .unwrap()
        .unwrap();
    let waited = last_renewal_at_latest.elapsed();
    // b must not act before a would have stepped down (renew deadline after
    // its last renewal); it takes over a lease duration or so after that.
    assert!(
        waited >= RENEW_DEADLINE,
        "b took over only {waited:?} after a's last renewal"
    );
    assert_eq!(holder(&client, &ns).await, (Some("b".to_string()), 1));

    // "a" wakes up (a long pause rather than a crash): its last renewal is
    // older than the renew deadline, so it steps down without writing.
    assert_eq!(
        a.renew_until_lost().await,
        LeadershipLost::RenewDeadlineExceeded
    );
    assert_eq!(holder(&client, &ns).await, (Some("b".to_string()), 1));

    cleanup(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_is_deleted_steps_down() {
    let client = client().await;
    let ns = namespace(&client, "leader-deadline").await;
    let a = candidate(&client, &ns, "a");
    a.acquire().await.unwrap();
    // Someone deletes the Lease: a must not recreate it and carry on (another
    // candidate may create it meanwhile), but step down.
    Api::<Lease>::namespaced(client.clone(), &ns)
        .delete(LEASE, &DeleteParams::default())
        .await
        .unwrap();
    let started = Instant::now();
    let lost = timeout(RENEW_DEADLINE * 2, a.renew_until_lost())
        .await
        .expect("renew_until_lost returns");
    assert_eq!(lost, LeadershipLost::HeldByOther { holder: None });
    assert!(started.elapsed() <= RETRY_PERIOD * 2);

    cleanup(&client, &ns).await;
}
