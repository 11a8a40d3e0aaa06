//! Following every started job with two Lists per Region and tick, instead
//! of one Describe per job and poll.
//!
//! Each tick lists the Region's jobs in status SUBMITTED, then IN_PROGRESS
//! (in that order, so a job that moves on between the two calls is seen in
//! at least one). The listing is the account's whole active set, whoever
//! started the jobs:
//! - a followed job whose listed status changed wakes its resource, which
//!   takes the new status from the listing (no Describe);
//! - a followed job missing from both lists has ended (or was never seen
//!   active): its slot is free at once and its resource gets one Describe to
//!   learn how it ended;
//! - the active jobs nobody here follows (started from the console, a
//!   script, another cluster) take slots too, so the pool never starts a job
//!   the account has no room for.
//!
//! The comparison ([`Views::apply`]) is pure and unit-tested;
//! [`list_active`] makes the two calls; the reconcile module runs the tick.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::comprehend::{AwsError, Comprehend, JobDescription, Place};

/// The statuses of an active job, listed in this order.
pub const ACTIVE_STATUSES: [&str; 2] = ["SUBMITTED", "IN_PROGRESS"];

/// What the follower knows of one followed job, for its reconcile.
#[derive(Clone, Debug, PartialEq)]
pub enum View {
    /// The latest listing has the job, as it shows it.
    Listed(Box<JobDescription>),
    /// A listing that began after the job was followed lacks it: it has
    /// ended (Describe says how), or Comprehend's lists lag.
    Absent,
    /// No listing since the job was followed, recent enough to trust: wait
    /// for the next tick.
    Pending,
    /// Listings are failing or stale: follow the job with Describe.
    Stale,
}

/// What a listing changed, for the caller to act on.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Resources whose job changed status or ended: wake them.
    pub wake: Vec<String>,
    /// Resources whose job left the active lists: free their slots.
    pub ended: Vec<String>,
    /// Active jobs in the account that no resource here follows.
    pub foreign: usize,
}

#[derive(Debug)]
struct Followed {
    key: String,
    since: Instant,
    /// Already reported absent by a listing (woken once for it).
    absent: bool,
}

#[derive(Debug)]
struct Listing {
    began: Instant,
    active: HashMap<String, JobDescription>,
}

#[derive(Debug, Default)]
struct RegionView {
    followed: HashMap<String, Followed>,
    listing: Option<Listing>,
    /// When a start last asked for this Region's count.
    wanted: Option<Instant>,
    /// When the latest listing that failed began.
    failed: Option<Instant>,
}

/// The followed jobs and the latest listing, per Region.
#[derive(Debug, Default)]
pub struct Views {
    regions: Mutex<HashMap<Place, RegionView>>,
}

impl Views {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Place, RegionView>> {
        self.regions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Follows `job_id` for resource `key` from now on (idempotent: the
    /// first call's time counts).
    pub fn follow(&self, place: &Place, job_id: &str, key: &str, now: Instant) {
        let mut regions = self.lock();
        let r = regions.entry(place.clone()).or_default();
        r.followed
            .entry(job_id.to_string())
            .or_insert_with(|| Followed {
                key: key.to_string(),
                since: now,
                absent: false,
            });
    }

    /// Stops following `job_id` (its outcome is settled).
    pub fn forget(&self, place: &Place, job_id: &str) {
        if let Some(r) = self.lock().get_mut(place) {
            r.followed.remove(job_id);
        }
    }

    /// Stops following whatever job resource `key` had (it is gone).
    pub fn forget_key(&self, place: &Place, key: &str) {
        if let Some(r) = self.lock().get_mut(place) {
            r.followed.retain(|_, f| f.key != key);
        }
    }

    /// What the follower knows of `job_id`; listings older than
    /// `stale_after` (or none for that long since the job was followed)
    /// are not trusted.
    pub fn view(&self, place: &Place, job_id: &str, now: Instant, stale_after: Duration) -> View {
        let regions = self.lock();
        let Some(r) = regions.get(place) else {
            return View::Stale;
        };
        let Some(f) = r.followed.get(job_id) else {
            return View::Stale;
        };
        match &r.listing {
            Some(l) if now.duration_since(l.began) <= stale_after => {
                if let Some(desc) = l.active.get(job_id) {
                    View::Listed(Box::new(desc.clone()))
                } else if l.began > f.since {
                    View::Absent
                } else {
                    View::Pending
                }
            }
            _ if now.duration_since(f.since) <= stale_after => View::Pending,
            _ => View::Stale,
        }
    }

    /// Regions worth listing now: those with followed jobs, or where a start
    /// asked for the count within `recent`.
    pub fn places(&self, now: Instant, recent: Duration) -> Vec<Place> {
        self.lock()
            .iter()
            .filter(|(_, r)| {
                !r.followed.is_empty() || r.wanted.is_some_and(|w| now.duration_since(w) <= recent)
            })
            .map(|(region, _)| region.clone())
            .collect()
    }

    /// Whether `region` has a listing (or a failed attempt, so that starts
    /// do not each try again) that began within `max_age`; notes that a
    /// start wants the Region's count.
    pub fn is_fresh(&self, place: &Place, now: Instant, max_age: Duration) -> bool {
        let mut regions = self.lock();
        let r = regions.entry(place.clone()).or_default();
        r.wanted = Some(now);
        let recent = |t: Instant| now.duration_since(t) <= max_age;
        r.listing.as_ref().is_some_and(|l| recent(l.began)) || r.failed.is_some_and(recent)
    }

    /// Notes a listing of `region` that began at `began` and failed.
    pub fn listing_failed(&self, place: &Place, began: Instant) {
        self.lock().entry(place.clone()).or_default().failed = Some(began);
    }

    /// Takes in a complete listing that began at `began` and answers what
    /// it changed. A listing older than the one held changes nothing.
    pub fn apply(&self, place: &Place, began: Instant, active: Vec<JobDescription>) -> Changes {
        let mut regions = self.lock();
        let r = regions.entry(place.clone()).or_default();
        if r.listing.as_ref().is_some_and(|l| l.began > began) {
            return Changes::default();
        }
        let active: HashMap<String, JobDescription> =
            active.into_iter().map(|d| (d.job_id.clone(), d)).collect();
        let previous = r.listing.as_ref().map(|l| &l.active);
        let mut changes = Changes::default();
        for (job_id, f) in r.followed.iter_mut() {
            match active.get(job_id) {
                Some(now) => {
                    let before = previous.and_then(|p| p.get(job_id));
                    if f.absent || before.is_none_or(|b| b.job_status != now.job_status) {
                        changes.wake.push(f.key.clone());
                    }
                    f.absent = false;
                }
                None if began > f.since && !f.absent => {
                    f.absent = true;
                    changes.wake.push(f.key.clone());
                    changes.ended.push(f.key.clone());
                }
                None => {}
            }
        }
        changes.foreign = active
            .keys()
            .filter(|id| !r.followed.contains_key(*id))
            .count();
        r.listing = Some(Listing { began, active });
        changes
    }
}

/// Lists the Region's active jobs (SUBMITTED, then IN_PROGRESS). A job
/// listed in both (it moved on between the calls) keeps its later status.
pub async fn list_active(
    comprehend: &dyn Comprehend,
    place: &Place,
) -> Result<(Vec<JobDescription>, u32), AwsError> {
    let mut by_id: HashMap<String, JobDescription> = HashMap::new();
    let mut requests = 0;
    for status in ACTIVE_STATUSES {
        let listed = comprehend.list_jobs_in_status(place, status).await?;
        requests += listed.requests;
        for job in listed.jobs {
            by_id.insert(job.job_id.clone(), job);
        }
    }
    Ok((by_id.into_values().collect(), requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(region: &str) -> Place {
        Place::own(region)
    }

    fn job(id: &str, status: &str) -> JobDescription {
        JobDescription {
            job_id: id.into(),
            job_status: status.into(),
            ..JobDescription::default()
        }
    }

    const STALE: Duration = Duration::from_secs(3);

    #[test]
    fn a_listing_wakes_only_jobs_that_changed_and_counts_foreign_ones() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("r"), "a", "ns/a", t0);
        views.follow(&p("r"), "b", "ns/b", t0);
        let t1 = t0 + Duration::from_secs(1);
        let first = views.apply(
            &p("r"),
            t1,
            vec![
                job("a", "SUBMITTED"),
                job("b", "IN_PROGRESS"),
                job("x", "IN_PROGRESS"),
            ],
        );
        let mut woken = first.wake.clone();
        woken.sort();
        assert_eq!(woken, ["ns/a", "ns/b"]);
        assert_eq!(first.foreign, 1);
        assert!(first.ended.is_empty());

        let t2 = t1 + Duration::from_secs(1);
        let second = views.apply(
            &p("r"),
            t2,
            vec![job("a", "IN_PROGRESS"), job("b", "IN_PROGRESS")],
        );
        assert_eq!(second.wake, ["ns/a"]);
        assert_eq!(second.foreign, 0);
        assert_eq!(
            views.view(&p("r"), "a", t2, STALE),
            View::Listed(Box::new(job("a", "IN_PROGRESS")))
        );
    }

    #[test]
    fn a_job_missing_from_a_later_listing_has_ended_once() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("r"), "a", "ns/a", t0);
        let t1 = t0 + Duration::from_secs(1);
        views.apply(&p("r"), t1, vec![job("a", "IN_PROGRESS")]);
        let t2 = t1 + Duration::from_secs(1);
        let gone = views.apply(&p("r"), t2, vec![]);
        assert_eq!(gone.wake, ["ns/a"]);
        assert_eq!(gone.ended, ["ns/a"]);
        assert_eq!(views.view(&p("r"), "a", t2, STALE), View::Absent);
        // Reported once, not at every tick.
        let again = views.apply(&p("r"), t2 + Duration::from_secs(1), vec![]);
        assert_eq!(again, Changes::default());
        // Listed again (the lists lagged): woken, followed as before.
        let back = views.apply(
            &p("r"),
            t2 + Duration::from_secs(2),
            vec![job("a", "IN_PROGRESS")],
        );
        assert_eq!(back.wake, ["ns/a"]);
    }

    #[test]
    fn a_listing_begun_before_the_job_was_followed_says_nothing_of_it() {
        let views = Views::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        views.follow(&p("r"), "new", "ns/new", t1);
        // Begun at t0, before the job was followed (its Start may not have
        // returned yet): its absence proves nothing.
        let changes = views.apply(&p("r"), t0, vec![job("x", "SUBMITTED")]);
        assert!(changes.ended.is_empty() && changes.wake.is_empty());
        assert_eq!(views.view(&p("r"), "new", t1, STALE), View::Pending);
    }

    #[test]
    fn an_older_listing_never_replaces_a_newer_one() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("r"), "a", "ns/a", t0);
        let t2 = t0 + Duration::from_secs(2);
        views.apply(&p("r"), t2, vec![job("a", "IN_PROGRESS")]);
        let late = views.apply(&p("r"), t0 + Duration::from_secs(1), vec![]);
        assert_eq!(late, Changes::default());
        assert!(matches!(
            views.view(&p("r"), "a", t2, STALE),
            View::Listed(_)
        ));
    }

    #[test]
    fn without_recent_listings_jobs_fall_back_to_describe() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("r"), "a", "ns/a", t0);
        assert_eq!(views.view(&p("r"), "a", t0 + STALE, STALE), View::Pending);
        assert_eq!(
            views.view(&p("r"), "a", t0 + STALE + Duration::from_millis(1), STALE),
            View::Stale
        );
        views.apply(
            &p("r"),
            t0 + Duration::from_secs(1),
            vec![job("a", "SUBMITTED")],
        );
        assert_eq!(
            views.view(&p("r"), "a", t0 + Duration::from_secs(10), STALE),
            View::Stale
        );
        assert_eq!(views.view(&p("r"), "unknown", t0, STALE), View::Stale);
    }

    #[test]
    fn regions_listed_are_those_followed_or_asked_for() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("eu-west-1"), "a", "ns/a", t0);
        assert!(!views.is_fresh(&p("us-east-1"), t0, STALE));
        let mut regions = views.places(t0, STALE);
        regions.sort();
        assert_eq!(regions, [p("eu-west-1"), p("us-east-1")]);
        views.forget(&p("eu-west-1"), "a");
        assert_eq!(
            views.places(t0 + Duration::from_secs(10), STALE),
            Vec::<Place>::new()
        );
        views.apply(&p("us-east-1"), t0, vec![]);
        assert!(views.is_fresh(&p("us-east-1"), t0 + STALE, STALE));
        // A failed attempt counts as recent too: starts do not each retry.
        assert!(!views.is_fresh(&p("eu-west-1"), t0, STALE));
        views.listing_failed(&p("eu-west-1"), t0);
        assert!(views.is_fresh(&p("eu-west-1"), t0 + STALE, STALE));
        assert!(!views.is_fresh(&p("eu-west-1"), t0 + STALE * 2, STALE));
    }

    #[test]
    fn forget_key_drops_the_resources_job() {
        let views = Views::default();
        let t0 = Instant::now();
        views.follow(&p("r"), "a", "ns/a", t0);
        views.forget_key(&p("r"), "ns/a");
        let changes = views.apply(
            &p("r"),
            t0 + Duration::from_secs(1),
            vec![job("a", "SUBMITTED")],
        );
        assert!(changes.wake.is_empty());
        assert_eq!(changes.foreign, 1);
    }

    #[tokio::test]
    async fn list_active_reads_both_statuses_and_keeps_the_later_one() {
        let fake = crate::comprehend::fake::FakeComprehend::default();
        fake.put_job(job("s", "SUBMITTED"));
        fake.put_job(job("p", "IN_PROGRESS"));
        fake.put_job(job("done", "COMPLETED"));
        let (mut jobs, requests) = list_active(&fake, &p("r")).await.unwrap();
        jobs.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        assert_eq!(jobs, vec![job("p", "IN_PROGRESS"), job("s", "SUBMITTED")]);
        assert_eq!(requests, 2);
        assert_eq!(fake.calls("ListDocumentClassificationJobs"), 2);
    }
}
