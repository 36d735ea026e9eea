//! The RAM bandwidth probe behind `llmrig hw --measure`: fill a buffer much larger than the
//! last-level cache, then let one thread per logical CPU sum its share of it as 64-bit lanes, a few
//! passes, and keep the best pass. Reading is what decode does with weights, so a read test is the
//! right one; it reports sustained bandwidth, typically 70–90% of the theoretical peak. Safe code
//! only: `std::thread::scope` and `black_box`.

use std::hint::black_box;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// How to run the probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandwidthOptions {
    /// Buffer size, bytes (rounded down to 8 bytes per thread; at least 1 MiB).
    pub buffer_bytes: u64,
    /// Reader threads.
    pub threads: usize,
    /// Most passes over the buffer.
    pub max_passes: u32,
    /// Stop starting passes after this long (at least two passes run).
    pub time_budget: Duration,
}

impl BandwidthOptions {
    /// One thread per logical CPU, 1 GiB or an eighth of RAM whichever is smaller (far beyond any
    /// last-level cache, small enough not to push other programs into swap), up to 10 passes in 3 s.
    #[must_use]
    pub fn for_ram(ram_total_bytes: u64) -> Self {
        BandwidthOptions {
            buffer_bytes: (ram_total_bytes / 8).clamp(64 * MIB, 1024 * MIB),
            threads: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            max_passes: 10,
            time_budget: Duration::from_secs(3),
        }
    }
}

/// What the probe measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Best pass, bytes/s.
    pub best_bytes_per_s: f64,
    /// Mean over passes, bytes/s.
    pub mean_bytes_per_s: f64,
    /// Reader threads.
    pub threads: usize,
    /// Buffer size, bytes.
    pub buffer_bytes: u64,
    /// Passes run.
    pub passes: u32,
    /// Wall time including filling the buffer, seconds.
    pub seconds: f64,
}

/// Sums a slice in eight independent lanes so the compiler can keep several vector loads in flight.
fn sum(chunk: &[u64]) -> u64 {
    let mut acc = [0u64; 8];
    let mut lanes = chunk.chunks_exact(8);
    for c in &mut lanes {
        for (a, x) in acc.iter_mut().zip(c) {
            *a = a.wrapping_add(*x);
        }
    }
    let tail = lanes
        .remainder()
        .iter()
        .fold(0u64, |s, x| s.wrapping_add(*x));
    acc.iter().fold(tail, |s, x| s.wrapping_add(*x))
}

/// Runs the probe; `progress(done, total)` is called after filling the buffer and after each pass
/// (total is the fill plus `max_passes`; the last call has done == total).
#[must_use]
pub fn measure_ram_bandwidth(
    opts: &BandwidthOptions,
    progress: &mut dyn FnMut(u32, u32),
) -> Bandwidth {
    let start = Instant::now();
    let threads = opts.threads.max(1);
    let max_passes = opts.max_passes.max(2);
    let words = usize::try_from(opts.buffer_bytes.max(MIB) / 8).unwrap_or(usize::MAX / 8);
    let per_thread = words.div_ceil(threads).max(8);
    // vec! of zeros maps pages lazily; each thread then touches (writes) its own share first, so
    // the pages land on its NUMA node and no pass pays for page faults.
    let mut buf = vec![0u64; words];
    std::thread::scope(|s| {
        for (i, part) in buf.chunks_mut(per_thread).enumerate() {
            s.spawn(move || {
                let base = (i * per_thread) as u64;
                for (j, w) in part.iter_mut().enumerate() {
                    *w = base + j as u64;
                }
            });
        }
    });
    let total = max_passes + 1;
    progress(1, total);
    let bytes = (words * 8) as f64;
    let mut rates = Vec::new();
    for pass in 0..max_passes {
        if pass >= 2 && start.elapsed() > opts.time_budget {
            break;
        }
        let t = Instant::now();
        let checksum = std::thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks(per_thread)
                .map(|part| s.spawn(move || sum(black_box(part))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        black_box(checksum);
        let secs = t.elapsed().as_secs_f64().max(1e-9);
        rates.push(bytes / secs);
        progress(pass + 2, total);
    }
    progress(total, total);
    let passes = u32::try_from(rates.len()).unwrap_or(u32::MAX);
    Bandwidth {
        best_bytes_per_s: rates.iter().copied().fold(0.0, f64::max),
        mean_bytes_per_s: rates.iter().sum::<f64>() / f64::from(passes.max(1)),
        threads,
        buffer_bytes: (words * 8) as u64,
        passes,
        seconds: start.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_word() {
        let v: Vec<u64> = (0..1001).collect();
        assert_eq!(sum(&v), 1000 * 1001 / 2);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn small_probe_measures_something() {
        let mut calls = Vec::new();
        let b = measure_ram_bandwidth(
            &BandwidthOptions {
                buffer_bytes: 8 * MIB,
                threads: 2,
                max_passes: 3,
                time_budget: Duration::from_secs(2),
            },
            &mut |d, t| calls.push((d, t)),
        );
        assert!(b.best_bytes_per_s > 0.0 && b.best_bytes_per_s.is_finite());
        assert!(b.mean_bytes_per_s <= b.best_bytes_per_s);
        assert_eq!(b.passes, 3);
        assert_eq!(b.buffer_bytes, 8 * MIB);
        assert_eq!(calls.last(), Some(&(4, 4)));
    }
}
