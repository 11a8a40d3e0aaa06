//! The cap on active jobs per Region, shared by all reconciles of a
//! process: who holds a slot, who waits for one (oldest first), and how many
//! of the account's active jobs are not this operator's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use crate::comprehend::Place;
use crate::kernel::memory::{shrink_if_sparse, sparse_shrink_to};

/// Whether a resource may start its job now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The resource holds one of the Region's active-job slots.
    Granted,
    /// All slots are taken; the resource is this far back in the queue
    /// (1 = next).
    Queued { position: usize },
}

/// Caps the number of active Comprehend jobs per Region. A resource holds a
/// slot from just before Start until its job is seen to leave the active
/// lists; jobs of the account that no resource here follows (foreign) take
/// slots too; waiters are served oldest first.
pub struct SlotPool {
    max_active: usize,
    regions: Mutex<HashMap<Place, RegionSlots>>,
}

#[derive(Default)]
struct RegionSlots {
    holders: HashSet<String>,
    /// Ordered by (creation order, key).
    waiters: BTreeSet<(i64, String)>,
    waiting: HashMap<String, i64>,
    /// Active jobs in the account that no resource here holds, as the
    /// latest listing counted them.
    foreign: usize,
}

impl SlotPool {
    /// A pool allowing `max_active` jobs per Region.
    pub fn new(max_active: usize) -> Self {
        SlotPool {
            max_active,
            regions: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `key` holds a slot whatever the cap (a job found running,
    /// for example after a restart).
    pub fn hold(&self, place: &Place, key: &str) {
        let mut regions = self.regions.lock().expect("slot pool lock");
        let r = regions.entry(place.clone()).or_default();
        r.remove_waiter(key);
        r.holders.insert(key.to_string());
    }

    /// Asks for a slot for `key`, created at `order` (older first).
    pub fn try_acquire(&self, place: &Place, key: &str, order: i64) -> Slot {
        let mut regions = self.regions.lock().expect("slot pool lock");
        let r = regions.entry(place.clone()).or_default();
        if r.holders.contains(key) {
            return Slot::Granted;
        }
        if !r.waiting.contains_key(key) {
            r.waiting.insert(key.to_string(), order);
            r.waiters.insert((order, key.to_string()));
        }
        let free = r.free(self.max_active);
        let position = r
            .waiters
            .iter()
            .position(|(_, k)| k == key)
            .expect("waiter was just inserted")
            + 1;
        if position <= free {
            r.remove_waiter(key);
            r.holders.insert(key.to_string());
            Slot::Granted
        } else {
            Slot::Queued {
                position: position - free,
            }
        }
    }

    /// Gives back the slot of `key` (or its place in the queue) and returns
    /// the waiters that may now take a slot, so they can be woken at once.
    pub fn release(&self, place: &Place, key: &str) -> Vec<String> {
        let mut regions = self.regions.lock().expect("slot pool lock");
        let Some(r) = regions.get_mut(place) else {
            return Vec::new();
        };
        let held = r.holders.remove(key);
        r.remove_waiter(key);
        if !held {
            return Vec::new();
        }
        r.first_waiters(self.max_active)
    }

    /// Sets the number of the account's active jobs in `region` that no
    /// resource here holds, and returns the waiters that may now take a
    /// slot (when that number fell).
    pub fn set_foreign(&self, place: &Place, foreign: usize) -> Vec<String> {
        let mut regions = self.regions.lock().expect("slot pool lock");
        let r = regions.entry(place.clone()).or_default();
        let fell = foreign < r.foreign;
        r.foreign = foreign;
        if fell {
            r.first_waiters(self.max_active)
        } else {
            Vec::new()
        }
    }

    /// Active jobs in `region` that no resource here holds.
    pub fn foreign(&self, place: &Place) -> usize {
        self.regions
            .lock()
            .expect("slot pool lock")
            .get(place)
            .map_or(0, |r| r.foreign)
    }

    /// Forgets a waiter whose resource is gone, so it blocks nobody.
    pub fn forget_waiter(&self, place: &Place, key: &str) {
        if let Some(r) = self.regions.lock().expect("slot pool lock").get_mut(place) {
            r.remove_waiter(key);
        }
    }

    /// Active jobs in `region`.
    pub fn active(&self, place: &Place) -> usize {
        self.regions
            .lock()
            .expect("slot pool lock")
            .get(place)
            .map_or(0, |r| r.holders.len())
    }

    /// Every (Region, key) holding or waiting for a slot.
    pub fn keys(&self) -> Vec<(Place, String)> {
        let regions = self.regions.lock().expect("slot pool lock");
        regions
            .iter()
            .flat_map(|(region, r)| {
                r.holders
                    .iter()
                    .chain(r.waiting.keys())
                    .map(move |k| (region.clone(), k.clone()))
            })
            .collect()
    }

    /// The Regions where resources wait for a slot.
    pub fn places_with_waiters(&self) -> Vec<Place> {
        self.regions
            .lock()
            .expect("slot pool lock")
            .iter()
            .filter(|(_, r)| !r.waiters.is_empty())
            .map(|(region, _)| region.clone())
            .collect()
    }

    /// The waiters, all Regions together, that fit in the free slots now.
    /// Each one is woken when a slot frees ([`SlotPool::release`],
    /// [`SlotPool::set_foreign`]); this is the safety net for a wake-up
    /// that came to nothing, as queued resources are not requeued.
    pub fn ready_waiters(&self) -> Vec<String> {
        self.regions
            .lock()
            .expect("slot pool lock")
            .values()
            .flat_map(|r| r.first_waiters(self.max_active))
            .collect()
    }

    /// Gives back the tables a burst of waiters or holders grew.
    pub fn compact(&self) {
        for r in self.regions.lock().expect("slot pool lock").values_mut() {
            shrink_if_sparse(&mut r.waiting);
            if let Some(to) = sparse_shrink_to(r.holders.len(), r.holders.capacity()) {
                r.holders.shrink_to(to);
            }
        }
    }

    /// Resources waiting for a slot, all Regions together.
    pub fn queued(&self) -> usize {
        self.regions
            .lock()
            .expect("slot pool lock")
            .values()
            .map(|r| r.waiters.len())
            .sum()
    }
}

impl RegionSlots {
    /// Slots neither held nor taken by foreign jobs.
    fn free(&self, max_active: usize) -> usize {
        max_active.saturating_sub(self.holders.len() + self.foreign)
    }

    /// The waiters that fit in the free slots, oldest first.
    fn first_waiters(&self, max_active: usize) -> Vec<String> {
        self.waiters
            .iter()
            .take(self.free(max_active))
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn remove_waiter(&mut self, key: &str) {
        if let Some(order) = self.waiting.remove(key) {
            self.waiters.remove(&(order, key.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(region: &str) -> Place {
        Place::own(region)
    }

    #[test]
    fn cap_is_respected_and_oldest_waits_first() {
        let pool = SlotPool::new(2);
        assert_eq!(pool.try_acquire(&p("r"), "a", 1), Slot::Granted);
        assert_eq!(pool.try_acquire(&p("r"), "b", 2), Slot::Granted);
        assert_eq!(
            pool.try_acquire(&p("r"), "d", 4),
            Slot::Queued { position: 1 }
        );
        assert_eq!(
            pool.try_acquire(&p("r"), "c", 3),
            Slot::Queued { position: 1 }
        );
        assert_eq!(
            pool.try_acquire(&p("r"), "d", 4),
            Slot::Queued { position: 2 }
        );
        assert_eq!(pool.active(&p("r")), 2);
        assert_eq!(pool.queued(), 2);
        // Asking again while holding is idempotent.
        assert_eq!(pool.try_acquire(&p("r"), "a", 1), Slot::Granted);
        assert_eq!(pool.release(&p("r"), "a"), vec!["c".to_string()]);
        // d is younger than c: it still waits.
        assert_eq!(
            pool.try_acquire(&p("r"), "d", 4),
            Slot::Queued { position: 1 }
        );
        assert_eq!(pool.try_acquire(&p("r"), "c", 3), Slot::Granted);
        assert_eq!(pool.active(&p("r")), 2);
    }

    #[test]
    fn regions_are_separate() {
        let pool = SlotPool::new(1);
        assert_eq!(pool.try_acquire(&p("us-east-1"), "a", 1), Slot::Granted);
        assert_eq!(pool.try_acquire(&p("eu-west-1"), "b", 2), Slot::Granted);
        assert_eq!(
            pool.try_acquire(&p("us-east-1"), "c", 3),
            Slot::Queued { position: 1 }
        );
    }

    #[test]
    fn hold_counts_over_the_cap_and_release_is_idempotent() {
        let pool = SlotPool::new(1);
        pool.hold(&p("r"), "running-1");
        pool.hold(&p("r"), "running-2");
        assert_eq!(pool.active(&p("r")), 2);
        assert_eq!(
            pool.try_acquire(&p("r"), "new", 1),
            Slot::Queued { position: 1 }
        );
        assert!(pool.release(&p("r"), "running-1").is_empty());
        assert_eq!(pool.release(&p("r"), "running-2"), vec!["new".to_string()]);
        assert!(pool.release(&p("r"), "running-2").is_empty());
    }

    #[test]
    fn foreign_jobs_take_slots_and_free_them_when_they_end() {
        let pool = SlotPool::new(3);
        assert!(pool.set_foreign(&p("r"), 2).is_empty());
        assert_eq!(pool.try_acquire(&p("r"), "a", 1), Slot::Granted);
        assert_eq!(
            pool.try_acquire(&p("r"), "b", 2),
            Slot::Queued { position: 1 }
        );
        assert_eq!(
            pool.try_acquire(&p("r"), "c", 3),
            Slot::Queued { position: 2 }
        );
        // The account is full: a release of ours frees nothing for b.
        assert_eq!(pool.foreign(&p("r")), 2);
        // One foreign job ended: the oldest waiter may go.
        assert_eq!(pool.set_foreign(&p("r"), 1), vec!["b".to_string()]);
        assert_eq!(
            pool.try_acquire(&p("r"), "c", 3),
            Slot::Queued { position: 1 }
        );
        assert_eq!(pool.try_acquire(&p("r"), "b", 2), Slot::Granted);
        // More foreign jobs wake nobody; other Regions are unaffected.
        assert!(pool.set_foreign(&p("r"), 5).is_empty());
        assert_eq!(pool.try_acquire(&p("other"), "d", 4), Slot::Granted);
        assert!(pool.release(&p("r"), "a").is_empty());
    }

    #[test]
    fn forgotten_waiters_block_nobody() {
        let pool = SlotPool::new(1);
        assert_eq!(pool.try_acquire(&p("r"), "a", 1), Slot::Granted);
        assert_eq!(
            pool.try_acquire(&p("r"), "gone", 2),
            Slot::Queued { position: 1 }
        );
        assert_eq!(
            pool.try_acquire(&p("r"), "c", 3),
            Slot::Queued { position: 2 }
        );
        pool.forget_waiter(&p("r"), "gone");
        assert_eq!(pool.release(&p("r"), "a"), vec!["c".to_string()]);
    }

    #[test]
    fn ready_waiters_are_those_that_fit_in_the_free_slots_of_each_region() {
        let pool = SlotPool::new(2);
        pool.hold(&p("r"), "a");
        pool.hold(&p("r"), "b");
        pool.hold(&p("s"), "x");
        for (i, key) in ["c", "d", "e"].iter().enumerate() {
            let _ = pool.try_acquire(&p("r"), key, i as i64);
        }
        assert!(pool.ready_waiters().is_empty(), "no free slot in r");
        // A release whose wake-up came to nothing: the waiter is still
        // there to be woken, oldest first, and only as many as fit.
        let _ = pool.release(&p("r"), "a");
        assert_eq!(pool.ready_waiters(), vec!["c".to_string()]);
        let _ = pool.release(&p("r"), "b");
        assert_eq!(pool.ready_waiters(), vec!["c".to_string(), "d".to_string()]);
        assert_eq!(pool.try_acquire(&p("r"), "c", 0), Slot::Granted);
        assert_eq!(pool.ready_waiters(), vec!["d".to_string()]);
    }

    #[test]
    fn compact_gives_back_what_a_burst_grew_and_keeps_every_entry() {
        let pool = SlotPool::new(10);
        for i in 0..5_000 {
            pool.hold(&p("r"), &format!("h{i}"));
        }
        for i in 0..5_000 {
            let _ = pool.try_acquire(&p("r"), &format!("w{i}"), i);
        }
        for i in 0..4_995 {
            let _ = pool.release(&p("r"), &format!("h{i}"));
            pool.forget_waiter(&p("r"), &format!("w{i}"));
        }
        let capacity = |pool: &SlotPool| {
            let regions = pool.regions.lock().unwrap();
            let r = &regions[&p("r")];
            (r.holders.capacity(), r.waiting.capacity())
        };
        let before = capacity(&pool);
        pool.compact();
        let after = capacity(&pool);
        assert!(after.0 < before.0 / 10, "{before:?} -> {after:?}");
        assert!(after.1 < before.1 / 10, "{before:?} -> {after:?}");
        assert_eq!((pool.active(&p("r")), pool.queued()), (5, 5));
        assert_eq!(pool.try_acquire(&p("r"), "w4995", 4995), Slot::Granted);
    }
}
