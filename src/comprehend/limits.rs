//! Comprehend's call rates, kept inside one operator process and shared by
//! all reconciles (Comprehend counts per second).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: at most `rate` calls a second, bursts of at most one
/// second's worth less a cushion (Comprehend counts per second).
pub struct RateLimiter {
    rate: f64,
    state: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Share of a second's worth of calls the bucket leaves unused. The
/// service's bucket holds a whole second's worth; leaving a tenth of it
/// unused (in whole calls, so from 10 calls a second on) keeps that much
/// cushion in the service's bucket for good, so calls that arrive closer
/// together than they were sent (network jitter) are not throttled.
const CUSHION_SHARE: f64 = 0.1;

impl RateLimiter {
    /// A limiter allowing `rate` calls a second (at least one every 1000 s).
    pub fn new(rate: f64) -> Self {
        let rate = rate.max(0.001);
        RateLimiter {
            rate,
            state: Mutex::new(Bucket {
                tokens: Self::capacity(rate),
                last: Instant::now(),
            }),
        }
    }

    /// Calls the bucket holds: a burst after a quiet spell.
    fn capacity(rate: f64) -> f64 {
        (rate - (rate * CUSHION_SHARE).floor()).max(1.0)
    }

    /// Calls a second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes a token now if one is there; otherwise says how long until one
    /// will be (the caller's token is then already reserved).
    fn reserve(&self) -> Duration {
        let mut b = self.state.lock().expect("rate limiter lock");
        let now = Instant::now();
        let capacity = Self::capacity(self.rate);
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(capacity);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.rate)
        }
    }

    /// Waits until a call may be made. Waiters are served in arrival order.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_calls() {
        let rl = RateLimiter::new(1.0);
        let start = Instant::now();
        for _ in 0..4 {
            rl.acquire().await;
        }
        // First call at once, then one a second.
        assert_eq!(start.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_allows_a_burst_of_nine_tenths_of_a_second() {
        let rl = RateLimiter::new(200.0);
        let start = Instant::now();
        for _ in 0..180 {
            rl.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        rl.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(4));
        // Then the rate: 200 more calls take a second.
        let steady = Instant::now();
        for _ in 0..200 {
            rl.acquire().await;
        }
        let took = steady.elapsed().as_secs_f64();
        assert!((0.99..=1.01).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn below_ten_calls_a_second_the_burst_is_a_whole_second() {
        let rl = RateLimiter::new(8.0);
        let start = Instant::now();
        for _ in 0..8 {
            rl.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        rl.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(124));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_shared_by_tasks() {
        let rl = std::sync::Arc::new(RateLimiter::new(2.0));
        let start = Instant::now();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let rl = rl.clone();
                tokio::spawn(async move { rl.acquire().await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // 2 at once, then 4 more at 2/s.
        assert_eq!(start.elapsed().as_millis(), 2000);
    }
}
