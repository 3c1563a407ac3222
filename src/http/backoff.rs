//! Exponential backoff with decorrelated jitter.
//!
//! Each wait is drawn uniformly from `[init_backoff, previous * base)` and
//! capped at `max_backoff` (the scheme object_store uses in
//! `src/client/backoff.rs`). The first wait is always `init_backoff`. The
//! random source is injectable so tests can assert exact waits.

use std::fmt;
use std::time::Duration;

use rand::{Rng, RngCore};

/// How the waits between attempts grow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The first wait, and the lower bound of every later one. Default 200 ms.
    pub init_backoff: Duration,
    /// The upper bound of any wait. Default 20 s.
    pub max_backoff: Duration,
    /// How fast the upper bound of the random range grows. Default 2.0.
    pub base: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
            base: 2.0,
        }
    }
}

/// The state of one retried call: yields successive waits.
pub struct Backoff {
    init_backoff: f64,
    next_backoff: f64,
    max_backoff: f64,
    base: f64,
    rng: Option<Box<dyn RngCore + Send>>,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("init_backoff", &self.init_backoff)
            .field("next_backoff", &self.next_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Backoff {
    /// A backoff drawing from the thread-local random generator.
    pub fn new(config: &BackoffConfig) -> Self {
        Self::new_inner(config, None)
    }

    /// A backoff drawing from `rng`, for exact tests.
    pub fn new_with_rng(config: &BackoffConfig, rng: Box<dyn RngCore + Send>) -> Self {
        Self::new_inner(config, Some(rng))
    }

    fn new_inner(config: &BackoffConfig, rng: Option<Box<dyn RngCore + Send>>) -> Self {
        let init_backoff = config.init_backoff.as_secs_f64();
        // A base below 1 or a non-finite one would make the range empty or
        // unbounded; treat it as "no growth" rather than panicking later.
        let base = if config.base.is_finite() && config.base >= 1.0 {
            config.base
        } else {
            1.0
        };
        Self {
            init_backoff,
            next_backoff: init_backoff,
            max_backoff: config.max_backoff.as_secs_f64(),
            base,
            rng,
        }
    }

    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        let low = self.init_backoff;
        let high = self.next_backoff * self.base;
        let drawn = if high > low && high.is_finite() {
            match self.rng.as_mut() {
                Some(rng) => rng.random_range(low..high),
                None => rand::rng().random_range(low..high),
            }
        } else {
            low
        };
        let next = self.max_backoff.min(drawn);
        let current = std::mem::replace(&mut self.next_backoff, next);
        Duration::try_from_secs_f64(current.min(self.max_backoff)).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Always returns the same word, so `random_range` lands on a fixed
    /// fraction of the range: 0 gives the low end, 1 << 63 the midpoint.
    struct Fixed(u64);

    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            (self.0 >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for (i, b) in dest.iter_mut().enumerate() {
                *b = self.0.to_le_bytes()[i % 8];
            }
        }
    }

    fn waits(config: &BackoffConfig, word: u64, n: usize) -> Vec<Duration> {
        let mut backoff = Backoff::new_with_rng(config, Box::new(Fixed(word)));
        (0..n).map(|_| backoff.next_wait()).collect()
    }

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn low_end_of_range_stays_at_init() {
        let got = waits(&BackoffConfig::default(), 0, 5);
        assert_eq!(got, ms(&[200, 200, 200, 200, 200]));
    }

    #[test]
    fn midpoint_grows_decorrelated() {
        // next = mid(0.2, prev * 2): 0.2 -> 0.3 -> 0.4 -> 0.5 -> 0.6
        let got: Vec<u128> = waits(&BackoffConfig::default(), 1 << 63, 5)
            .iter()
            .map(|d| d.as_micros())
            .collect();
        assert_eq!(got, vec![200_000, 300_000, 400_000, 500_000, 600_000]);
    }

    #[test]
    fn top_of_range_doubles_and_caps_at_max() {
        let config = BackoffConfig {
            init_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        };
        let got: Vec<u64> = waits(&config, u64::MAX, 6)
            .iter()
            .map(|d| d.as_secs_f64().round() as u64)
            .collect();
        assert_eq!(got, vec![1, 2, 4, 5, 5, 5]);
    }

    #[test]
    fn degenerate_configs_do_not_panic() {
        for base in [0.0, 0.5, f64::NAN, f64::INFINITY, -3.0] {
            let config = BackoffConfig {
                base,
                ..BackoffConfig::default()
            };
            let mut backoff = Backoff::new(&config);
            for _ in 0..10 {
                assert!(backoff.next_wait() <= config.max_backoff);
            }
        }
        let zero = BackoffConfig {
            init_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
            base: 2.0,
        };
        assert_eq!(Backoff::new(&zero).next_wait(), Duration::ZERO);
        // init above max: the cap wins.
        let inverted = BackoffConfig {
            init_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        };
        assert_eq!(Backoff::new(&inverted).next_wait(), Duration::from_secs(1));
    }
}
