use bfte_node::sim::{CryptoMode, SimOptions, run_seed};
fn main() {
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .without_time()
            .with_ansi(false)
            .init();
    }
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (from, to) = (args[0], args[1]);
    let real = args.get(2).copied().unwrap_or(0) == 1;
    let start = std::time::Instant::now();
    let mut bad = 0;
    for seed in from..to {
        let opts = SimOptions {
            crypto: if real {
                CryptoMode::Real
            } else {
                CryptoMode::Fast
            },
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let r = run_seed(seed, opts);
        if !r.violations.is_empty() {
            bad += 1;
            println!(
                "seed {seed} n={} byz={:?} loss={:.2} heal={}: {} ({:?})",
                r.scenario.peers,
                r.scenario.byzantine,
                r.scenario.link.loss,
                r.scenario.heal_ms,
                r.violations[0],
                r.stats
            );
        } else if std::env::var("V").is_ok() {
            println!(
                "seed {seed} n={} ok {:?} {:?}",
                r.scenario.peers,
                r.stats,
                t.elapsed()
            );
        }
    }
    println!("{bad} bad of {} in {:?}", to - from, start.elapsed());
}
