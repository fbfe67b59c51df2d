//! A latency histogram for `/auth` that costs the hot path almost nothing: each thread counts
//! into its own buckets (no cache line shared between cores), and `/metrics` adds them up.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds, in seconds, as Prometheus `le` labels.
pub const BOUNDS: [f64; 10] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25,
];

#[derive(Default)]
struct Buckets {
    counts: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

fn registry() -> &'static Mutex<Vec<Arc<Buckets>>> {
    static ALL: OnceLock<Mutex<Vec<Arc<Buckets>>>> = OnceLock::new();
    ALL.get_or_init(Default::default)
}

thread_local! {
    static MINE: Arc<Buckets> = {
        let b = Arc::new(Buckets::default());
        registry().lock().unwrap_or_else(|e| e.into_inner()).push(b.clone());
        b
    };
}

pub fn record(elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let i = BOUNDS
        .iter()
        .position(|b| secs <= *b)
        .unwrap_or(BOUNDS.len());
    MINE.with(|b| {
        b.counts[i].fetch_add(1, Ordering::Relaxed);
        b.sum_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    });
}

/// Prometheus text for the histogram `daypass_auth_duration_seconds` (all servers in this process).
pub fn render(out: &mut String) {
    use std::fmt::Write as _;
    let all = registry().lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut counts = [0u64; BOUNDS.len() + 1];
    let mut sum = 0u64;
    for b in &all {
        for (c, a) in counts.iter_mut().zip(&b.counts) {
            *c += a.load(Ordering::Relaxed);
        }
        sum += b.sum_nanos.load(Ordering::Relaxed);
    }
    let _ = writeln!(out, "# HELP daypass_auth_duration_seconds Time to answer /auth.\n# TYPE daypass_auth_duration_seconds histogram");
    let mut cumulative = 0;
    for (bound, c) in BOUNDS.iter().zip(counts) {
        cumulative += c;
        let _ = writeln!(
            out,
            "daypass_auth_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += counts[BOUNDS.len()];
    let _ = writeln!(
        out,
        "daypass_auth_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let _ = writeln!(
        out,
        "daypass_auth_duration_seconds_sum {:.9}",
        sum as f64 / 1e9
    );
    let _ = writeln!(out, "daypass_auth_duration_seconds_count {cumulative}");
}
