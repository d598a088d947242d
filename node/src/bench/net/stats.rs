//! Latency percentiles.

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles; `None` without samples.
    pub(crate) fn of(mut samples_ms: Vec<f64>) -> Option<Percentiles> {
        if samples_ms.is_empty() {
            return None;
        }
        samples_ms.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let index = (p * samples_ms.len() as f64).ceil() as usize;
            samples_ms[index.clamp(1, samples_ms.len()) - 1]
        };
        Some(Percentiles {
            samples: samples_ms.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: rank(1.0),
        })
    }
}

pub(super) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(samples).expect("samples");
        assert_eq!(
            (p.p50_ms, p.p99_ms, p.max_ms, p.samples),
            (50.0, 99.0, 100.0, 100)
        );
        assert!(Percentiles::of(Vec::new()).is_none());
        let one = Percentiles::of(vec![7.0]).expect("one");
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
    }
}
