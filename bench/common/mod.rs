//! Helpers shared by the benchmarks: environment knobs, process measurements and a
//! deterministic data generator.
#![allow(dead_code)]

/// The allocator the `runnel` binary uses, so the benchmarks measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A whole number from the environment (underscores allowed), or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.replace('_', ""))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Reads a `Vm*` line of /proc/self/status, in kB.
pub fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds this process has used so far (/proc/self/stat, clock ticks).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// A tiny deterministic PRNG (splitmix64), so every run writes the same data.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Region names the generated records draw from.
pub const REGIONS: [&str; 8] = [
    "us-east", "us-west", "eu-west", "eu-north", "ap-south", "ap-east", "sa-east", "af-south",
];

/// The stream the generated pageview records are declared as (both throughput benches).
pub const PAGEVIEWS_STREAM: &str = "CREATE STREAM pageviews (userkey VARCHAR KEY, pageid VARCHAR, userid VARCHAR, \
     viewtime BIGINT, duration INT, region VARCHAR) \
     WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='JSON');";
