// Why hand-written: kube-lease-manager 0.13.1 was checked (it targets
// kube 5.0 and k8s-openapi 0.29, so no second kube) and does not fit:
// * no renew deadline: its requests have no timeout and a holder that cannot
//   reach the API server keeps reporting leadership while the lease expires
//   for others (the hung-API-server unit test below has no counterpart);
// * expiry is judged by the holder's renewTime against the local clock only
//   (a fixed "grace" for skew), without client-go's observed-time rule, and
//   it force-clears another holder's lease it judges expired;
// * timings are whole seconds and there is no retry period (the tests use
//   400 ms);
// * it counts the first acquisition as a transition (leaseTransitions 1,
//   where client-go and tests/leader_election.rs expect 0);
// * it writes with server-side apply and strategic-merge patches, so it needs
//   `patch` on leases, which the RBAC in config/rbac and the Helm chart does
//   not grant (get, create, update).

//! Leader election on a coordination.k8s.io/v1 `Lease`, the way client-go's
//! `leaderelection` package does it, so that only one replica calls
//! Comprehend at a time.
//!
//! * A candidate reads the Lease and decides with the pure [`decide`]: renew
//!   it if it is the holder, take it if it is free or expired, wait otherwise.
//! * Every write is a `replace` carrying the resourceVersion just read, so of
//!   two candidates racing for the same expired lease the API server lets
//!   exactly one through (the other gets 409 Conflict).
//! * A lease counts as expired only when both clocks agree: the holder's
//!   `renewTime + leaseDurationSeconds` is past, *and* this candidate has
//!   itself seen the Lease unchanged for `leaseDurationSeconds` (client-go's
//!   "observed time"). The second condition keeps a candidate whose clock
//!   runs ahead of the holder's from taking a lease that is still being
//!   renewed.
//! * The holder steps down (the caller exits the process) when no renewal
//!   succeeded for `renew_deadline`, measured from the *start* of its last
//!   successful write. `renew_deadline < lease_duration`, so it stops acting
//!   before any other candidate can consider the lease expired.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// What a candidate may do with the Lease as it reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseDecision {
    /// It is the holder: renew.
    Renew,
    /// The Lease is missing, released or expired: take it.
    TakeOver,
    /// Someone else holds a live Lease.
    Wait,
}

/// Decides what candidate `identity` may do with a Lease whose spec is
/// `spec` (`None`: the Lease or its spec does not exist), at wall-clock time
/// `now`, having seen the Lease unchanged (same resourceVersion) for
/// `unchanged_for` by its own monotonic clock.
///
/// Another holder's lease is expired only when `renewTime +
/// leaseDurationSeconds < now` *and* `unchanged_for >= leaseDurationSeconds`;
/// see the module docs for why both.
pub fn decide(
    now: Timestamp,
    spec: Option<&LeaseSpec>,
    identity: &str,
    unchanged_for: Duration,
) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::TakeOver;
    };
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == identity => return LeaseDecision::Renew,
        // Released on a clean shutdown (or never held): no need to wait.
        None | Some("") => return LeaseDecision::TakeOver,
        Some(_) => {}
    }
    // A holder that wrote no duration gets client-go's default; a
    // non-positive one is treated as 0 (expired as soon as observed stale).
    let secs = spec.lease_duration_seconds.unwrap_or(15).max(0);
    let duration = SignedDuration::from_secs(i64::from(secs));
    let expired_by_renew_time = match &spec.renew_time {
        Some(t) => t.0.checked_add(duration).map_or(true, |end| end < now),
        // A held lease without a renew time was never renewed: stale.
        None => true,
    };
    let expired_by_observation = unchanged_for >= Duration::from_secs(secs as u64);
    if expired_by_renew_time && expired_by_observation {
        LeaseDecision::TakeOver
    } else {
        LeaseDecision::Wait
    }
}

/// Why [`LeaderElection::renew_until_lost`] returned. Either way this replica
/// must stop acting at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadershipLost {
    /// The Lease now names another holder (`None`: it was released or
    /// deleted by someone else).
    HeldByOther {
        /// The holder now named in the Lease.
        holder: Option<String>,
    },
    /// No renewal succeeded within the renew deadline; another candidate
    /// may take over soon.
    RenewDeadlineExceeded,
}

impl fmt::Display for LeadershipLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeadershipLost::HeldByOther { holder: Some(h) } => {
                write!(f, "the lease is now held by {h}")
            }
            LeadershipLost::HeldByOther { holder: None } => {
                write!(f, "the lease was released or deleted by someone else")
            }
            LeadershipLost::RenewDeadlineExceeded => {
                write!(f, "could not renew the lease within the renew deadline")
            }
        }
    }
}

/// The result of one read-decide-write round.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// This candidate holds the lease now.
    Held,
    /// Someone else holds it (or, when renewing, it is no longer ours).
    Other(Option<String>),
    /// Our write lost a race (409): read again.
    Conflict,
}

/// What this candidate remembers between rounds.
#[derive(Debug, Default)]
struct Memory {
    /// The resourceVersion last read and when it was first seen.
    observed: Option<(String, Instant)>,
    /// When the last successful write *started*: the renewTime it wrote is
    /// no earlier than this, so the renew deadline counted from here is
    /// conservative.
    renewed_at: Option<Instant>,
}

/// One candidate for the Lease `namespace/lease_name`.
///
/// ```no_run
/// # async fn f(client: kube::Client) -> Result<(), kube::Error> {
/// use comprehend_operator::leader::LeaderElection;
/// let election = LeaderElection::new(client, "ops", "comprehend-operator", "pod-a");
/// election.acquire().await?;
/// let lost = election.renew_until_lost().await; // run the controller alongside
/// eprintln!("{lost}");
/// std::process::exit(1);
/// # }
/// ```
#[derive(Debug)]
pub struct LeaderElection {
    api: Api<Lease>,
    namespace: String,
    lease_name: String,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
    memory: Mutex<Memory>,
}

impl LeaderElection {
    /// A candidate with client-go's default timings: 15 s lease duration,
    /// 10 s renew deadline, 2 s retry period.
    pub fn new(client: Client, namespace: &str, lease_name: &str, identity: &str) -> Self {
        LeaderElection {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            lease_name: lease_name.to_string(),
            identity: identity.to_string(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            memory: Mutex::new(Memory::default()),
        }
    }

    /// The same candidate with other timings.
    ///
    /// # Panics
    ///
    /// Unless `retry_period < renew_deadline < lease_duration` and the lease
    /// duration is at least one second (the Lease stores whole seconds): with
    /// other timings two replicas could both act, so this is a programming
    /// error, as in client-go.
    pub fn with_timings(
        mut self,
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Self {
        assert!(
            lease_duration >= Duration::from_secs(1),
            "lease duration must be at least 1 s"
        );
        assert!(
            renew_deadline < lease_duration,
            "renew deadline must be shorter than the lease duration"
        );
        assert!(
            retry_period < renew_deadline,
            "retry period must be shorter than the renew deadline"
        );
        self.lease_duration = lease_duration;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry_period;
        self
    }

    /// This candidate's identity, as written to `holderIdentity`.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// `namespace/name` of the Lease, for logs.
    fn lease_ref(&self) -> String {
        format!("{}/{}", self.namespace, self.lease_name)
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // Poisoning only means a panic elsewhere; the data is plain values.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until this candidate holds the Lease (creating it if missing),
    /// retrying every retry period. Transient API errors are logged and
    /// retried; errors that retrying cannot fix (401/403: missing RBAC for
    /// leases; 404 on create: the namespace does not exist) are returned.
    pub async fn acquire(&self) -> Result<(), kube::Error> {
        let mut waiting_logged = false;
        loop {
            // Bounded, so that a hung connection cannot stall the loop; if a
            // write did land after the timeout, the next read shows us as the
            // holder and we simply renew.
            match tokio::time::timeout(self.renew_deadline, self.attempt(false)).await {
                Ok(Ok(Attempt::Held)) => {
                    info!(lease = %self.lease_ref(), identity = %self.identity, "acquired the leader lease");
                    return Ok(());
                }
                Ok(Ok(Attempt::Other(holder))) => {
                    if !waiting_logged {
                        info!(lease = %self.lease_ref(), holder = ?holder, "another replica leads; waiting");
                        waiting_logged = true;
                    }
                }
                Ok(Ok(Attempt::Conflict)) => {
                    debug!(lease = %self.lease_ref(), "lost a race for the lease; retrying");
                }
                Ok(Err(e)) if is_permanent(&e) => return Err(e),
                Ok(Err(e)) => {
                    warn!(lease = %self.lease_ref(), error = %e, "leader election: could not read or write the lease")
                }
                Err(_) => {
                    warn!(lease = %self.lease_ref(), "leader election: API request timed out")
                }
            }
            tokio::time::sleep(self.retry_period).await;
        }
    }

    /// Renews the Lease every retry period while this candidate holds it and
    /// returns as soon as it may no longer: another holder is named, or no
    /// renewal succeeded within the renew deadline (each request is cut off
    /// at the deadline too). Meant to run after [`acquire`](Self::acquire),
    /// concurrently with the work; when it returns, stop working at once
    /// (the operator exits). Called without a prior `acquire`, it counts the
    /// deadline from now and returns unless this candidate is the holder.
    pub async fn renew_until_lost(&self) -> LeadershipLost {
        loop {
            tokio::time::sleep(self.retry_period).await;
            let last = self.memory().renewed_at.unwrap_or_else(Instant::now);
            let Some(left) = self.renew_deadline.checked_sub(last.elapsed()) else {
                return self.lost(LeadershipLost::RenewDeadlineExceeded);
            };
            match tokio::time::timeout(left, self.attempt(true)).await {
                Ok(Ok(Attempt::Held)) => {}
                Ok(Ok(Attempt::Other(holder))) => {
                    return self.lost(LeadershipLost::HeldByOther { holder });
                }
                // A conflict while renewing means someone else wrote the
                // Lease; the next read tells whether they took it.
                Ok(Ok(Attempt::Conflict)) => {
                    debug!(lease = %self.lease_ref(), "renewal conflicted; retrying");
                }
                Ok(Err(e)) => {
                    warn!(lease = %self.lease_ref(), error = %e, "leader election: renewal failed; retrying")
                }
                Err(_) => return self.lost(LeadershipLost::RenewDeadlineExceeded),
            }
        }
    }

    fn lost(&self, why: LeadershipLost) -> LeadershipLost {
        warn!(lease = %self.lease_ref(), identity = %self.identity, reason = %why, "lost the leader lease");
        why
    }

    /// Gives the Lease up on a clean shutdown, after the work has stopped:
    /// clears `holderIdentity` so that a successor takes over at once instead
    /// of waiting for the lease to expire. Does nothing if this candidate no
    /// longer holds it; failures are logged (the lease then simply expires).
    pub async fn release(&self) {
        match tokio::time::timeout(self.renew_deadline, self.try_release()).await {
            Ok(Ok(true)) => info!(lease = %self.lease_ref(), "released the leader lease"),
            Ok(Ok(false)) => {
                debug!(lease = %self.lease_ref(), "not the holder; nothing to release")
            }
            Ok(Err(e)) => {
                warn!(lease = %self.lease_ref(), error = %e, "could not release the leader lease")
            }
            Err(_) => warn!(lease = %self.lease_ref(), "releasing the leader lease timed out"),
        }
    }

    async fn try_release(&self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.lease_name).await? else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        // As client-go: no holder, renewed now, 1 s duration. Candidates take
        // a holderless lease immediately; the short duration also covers
        // readers that only look at the times.
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        spec.lease_duration_seconds = Some(1);
        // Carries the resourceVersion read above: if someone took the lease
        // in between, this fails rather than clearing their hold.
        self.api
            .replace(&self.lease_name, &PostParams::default(), &lease)
            .await?;
        self.memory().renewed_at = None;
        Ok(true)
    }

    /// One read-decide-write round. With `renew_only`, a lease not held by
    /// this candidate is reported as [`Attempt::Other`] rather than taken:
    /// once leadership is lost it must not be silently regained, because
    /// another replica may have acted in between.
    async fn attempt(&self, renew_only: bool) -> Result<Attempt, kube::Error> {
        let started = Instant::now();
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.lease_name).await? else {
            if renew_only {
                return Ok(Attempt::Other(None));
            }
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.lease_name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.held_spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.memory().renewed_at = Some(started);
                    Ok(Attempt::Held)
                }
                // Another candidate created it first.
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Conflict),
                Err(e) => Err(e),
            };
        };

        let unchanged_for = self.observe(lease.metadata.resource_version.as_deref());
        let spec = lease.spec.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        let next = match decide(now, lease.spec.as_ref(), &self.identity, unchanged_for) {
            LeaseDecision::Renew => self.held_spec(
                spec.acquire_time.as_ref().map_or(now, |t| t.0),
                now,
                transitions,
            ),
            LeaseDecision::TakeOver if !renew_only => {
                info!(lease = %self.lease_ref(), previous = ?spec.holder_identity, "taking over the leader lease");
                self.held_spec(now, now, transitions.saturating_add(1))
            }
            LeaseDecision::TakeOver | LeaseDecision::Wait => {
                return Ok(Attempt::Other(
                    spec.holder_identity.filter(|h| !h.is_empty()),
                ));
            }
        };
        lease.spec = Some(next);
        // `replace` sends the resourceVersion read above: if anyone wrote
        // the Lease since, the API server answers 409 and nobody wins twice.
        match self
            .api
            .replace(&self.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.memory().renewed_at = Some(started);
                Ok(Attempt::Held)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Attempt::Conflict),
            // Deleted between our read and write: read again.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(Attempt::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Records the resourceVersion just read; returns how long it has been
    /// the same (zero when it changed or is first seen).
    fn observe(&self, resource_version: Option<&str>) -> Duration {
        let rv = resource_version.unwrap_or_default();
        let mut memory = self.memory();
        match &memory.observed {
            Some((seen, since)) if seen == rv => since.elapsed(),
            _ => {
                memory.observed = Some((rv.to_string(), Instant::now()));
                Duration::ZERO
            }
        }
    }

    fn held_spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            // Whole seconds, rounded up so the holder never advertises less
            // than it was configured with.
            lease_duration_seconds: Some(
                i32::try_from(self.lease_duration.as_secs_f64().ceil() as u64).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}

/// Errors that retrying will not fix: fail fast so the pod's logs and
/// restarts show them instead of a replica waiting forever.
fn is_permanent(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if matches!(s.code, 401 | 403 | 404))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn spec(holder: Option<&str>, renewed: &str, secs: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            renew_time: Some(MicroTime(at(renewed))),
            lease_duration_seconds: Some(secs),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn missing_or_released_lease_is_taken_at_once() {
        let now = at("2026-01-01T00:00:10Z");
        assert_eq!(
            decide(now, None, "a", Duration::ZERO),
            LeaseDecision::TakeOver
        );
        let released = spec(None, "2026-01-01T00:00:09Z", 1);
        assert_eq!(
            decide(now, Some(&released), "a", Duration::ZERO),
            LeaseDecision::TakeOver
        );
        let empty = spec(Some(""), "2026-01-01T00:00:09Z", 15);
        assert_eq!(
            decide(now, Some(&empty), "a", Duration::ZERO),
            LeaseDecision::TakeOver
        );
    }

    #[test]
    fn holder_renews_even_when_late() {
        let live = spec(Some("a"), "2026-01-01T00:00:00Z", 15);
        for now in ["2026-01-01T00:00:10Z", "2026-01-01T01:00:00Z"] {
            assert_eq!(
                decide(at(now), Some(&live), "a", LONG),
                LeaseDecision::Renew
            );
        }
    }

    #[test]
    fn others_wait_until_the_renew_time_expires() {
        let live = spec(Some("a"), "2026-01-01T00:00:00Z", 15);
        let wait = |now: &str| decide(at(now), Some(&live), "b", LONG);
        assert_eq!(wait("2026-01-01T00:00:10Z"), LeaseDecision::Wait);
        // renewTime + 15 s is the last instant it is still valid.
        assert_eq!(wait("2026-01-01T00:00:15Z"), LeaseDecision::Wait);
        assert_eq!(wait("2026-01-01T00:00:15.000001Z"), LeaseDecision::TakeOver);
    }

    #[test]
    fn others_wait_until_they_have_seen_it_stale_for_a_lease_duration() {
        // By the remote clock it is long expired, but this candidate only
        // just started watching it: the holder's clock may lag ours.
        let stale = spec(Some("a"), "2026-01-01T00:00:00Z", 15);
        let now = at("2026-01-01T00:05:00Z");
        let after = |secs| decide(now, Some(&stale), "b", Duration::from_secs(secs));
        assert_eq!(after(0), LeaseDecision::Wait);
        assert_eq!(after(14), LeaseDecision::Wait);
        assert_eq!(after(15), LeaseDecision::TakeOver);
    }

    #[test]
    fn a_held_lease_without_renew_time_expires_by_observation() {
        let mut s = spec(Some("a"), "2026-01-01T00:00:00Z", 15);
        s.renew_time = None;
        let now = at("2026-01-01T00:00:01Z");
        assert_eq!(
            decide(now, Some(&s), "b", Duration::ZERO),
            LeaseDecision::Wait
        );
        assert_eq!(decide(now, Some(&s), "b", LONG), LeaseDecision::TakeOver);
    }

    #[test]
    fn missing_duration_defaults_to_fifteen_seconds() {
        let mut s = spec(Some("a"), "2026-01-01T00:00:00Z", 15);
        s.lease_duration_seconds = None;
        assert_eq!(
            decide(at("2026-01-01T00:00:14Z"), Some(&s), "b", LONG),
            LeaseDecision::Wait
        );
        assert_eq!(
            decide(at("2026-01-01T00:00:16Z"), Some(&s), "b", LONG),
            LeaseDecision::TakeOver
        );
    }

    /// A server that accepts connections and never answers: an API server
    /// that hangs, the case a per-request timeout exists for.
    async fn black_hole() -> (Client, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        let config = kube::Config::new(url.parse().unwrap());
        (Client::try_from(config).unwrap(), task)
    }

    #[tokio::test]
    async fn a_hung_api_server_makes_the_leader_step_down_by_the_deadline() {
        let (client, server) = black_hole().await;
        let election = LeaderElection::new(client, "ns", "lease", "a").with_timings(
            Duration::from_secs(3),
            Duration::from_secs(1),
            Duration::from_millis(200),
        );
        let started = Instant::now();
        let lost = tokio::time::timeout(Duration::from_secs(5), election.renew_until_lost())
            .await
            .expect("renew_until_lost gives up on its own");
        assert_eq!(lost, LeadershipLost::RenewDeadlineExceeded);
        let took = started.elapsed();
        assert!(
            // Not before the deadline, and well before the 3 s lease could
            // expire for others (slack for a loaded test machine).
            took >= Duration::from_millis(900) && took < Duration::from_millis(2500),
            "stepped down after {took:?}, expected about the 1 s renew deadline"
        );
        server.abort();
    }

    #[tokio::test]
    async fn acquire_keeps_trying_while_the_api_server_hangs() {
        let (client, server) = black_hole().await;
        let election = LeaderElection::new(client, "ns", "lease", "a").with_timings(
            Duration::from_secs(3),
            Duration::from_secs(1),
            Duration::from_millis(200),
        );
        let r = tokio::time::timeout(Duration::from_millis(2500), election.acquire()).await;
        assert!(r.is_err(), "acquire returned without a lease: {r:?}");
        server.abort();
    }

    #[test]
    #[should_panic(expected = "renew deadline must be shorter than the lease duration")]
    fn unsafe_timings_are_refused() {
        // Building a Client needs a runtime context for its tower buffer.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let client =
            Client::try_from(kube::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
        let _ = LeaderElection::new(client, "ns", "lease", "a").with_timings(
            Duration::from_secs(10),
            Duration::from_secs(10),
            Duration::from_secs(2),
        );
    }

    #[test]
    fn lost_reasons_read_well() {
        assert_eq!(
            LeadershipLost::HeldByOther {
                holder: Some("pod-b".into())
            }
            .to_string(),
            "the lease is now held by pod-b"
        );
        assert_eq!(
            LeadershipLost::RenewDeadlineExceeded.to_string(),
            "could not renew the lease within the renew deadline"
        );
    }
}
