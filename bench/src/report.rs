//! The report: one Markdown table, servers side by side with the Roomcast / Socket.IO ratios,
//! then the reconnect storm; for `--saturate` and `--churn`, their tables and the ratios of
//! the maxima last. Printed as Markdown so it can go into docs/benchmarks.md as is.

use std::fmt::Write;

use crate::args::Args;
use crate::results::{Bound, Document};
use crate::run::RowResult;

/// One line of the comparison: label, value of a row, how to format it.
struct Metric {
    label: &'static str,
    value: fn(&RowResult) -> f64,
    digits: usize,
    /// Whether a Roomcast / Socket.IO ratio means anything.
    ratio: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        label: "delivered msg/s",
        value: |r| r.delivered_per_s,
        digits: 0,
        ratio: true,
    },
    Metric {
        label: "latency p50 (ms)",
        value: |r| r.latency.p50,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "latency p99 (ms)",
        value: |r| r.latency.p99,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "latency p99.9 (ms)",
        value: |r| r.latency.p999,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "latency max (ms)",
        value: |r| r.latency.max,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "server RSS per connection (KiB)",
        value: |r| r.rss_per_conn() / 1024.0,
        digits: 1,
        ratio: true,
    },
    Metric {
        label: "server RSS at end of load (MiB)",
        value: |r| r.rss_loaded as f64 / 1048576.0,
        digits: 1,
        ratio: true,
    },
    Metric {
        label: "server CPU during measurement (s)",
        value: |r| r.server_cpu_s,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "server CPU per 1000 deliveries (ms)",
        value: |r| cpu_per_k(r),
        digits: 3,
        ratio: true,
    },
    Metric {
        label: "generator CPU during measurement (s)",
        value: |r| r.generator_cpu_s,
        digits: 2,
        ratio: true,
    },
    Metric {
        label: "latency samples",
        value: |r| r.latency.samples as f64,
        digits: 0,
        ratio: false,
    },
    Metric {
        label: "lost / duplicated deliveries",
        value: |r| (r.lost + r.dups) as f64,
        digits: 0,
        ratio: false,
    },
    Metric {
        label: "machine load average (1 min) at start",
        value: |r| r.load_start,
        digits: 2,
        ratio: false,
    },
    Metric {
        label: "machine load average (1 min) at end",
        value: |r| r.load_end,
        digits: 2,
        ratio: false,
    },
];

/// Server CPU milliseconds per 1000 deliveries: the cost of the work, whatever the rate.
fn cpu_per_k(r: &RowResult) -> f64 {
    let deliveries = r.delivered_per_s * r.measured_s;
    if deliveries > 0.0 {
        r.server_cpu_s * 1e6 / deliveries
    } else {
        f64::NAN
    }
}

/// The whole report as Markdown.
pub fn render(args: &Args, rows: &[RowResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} connections, {} rooms ({} per room, 1 publisher each), {} msg/s published, \
         {} B padding, {} s measured after {} s warm-up, loopback.\n",
        args.connections,
        args.rooms(),
        args.connections / args.rooms(),
        args.rate,
        args.payload,
        args.duration(),
        args.warmup
    );
    let sio = rows.iter().find(|r| r.name.starts_with("Socket.IO"));
    let roomcast: Vec<&RowResult> = rows
        .iter()
        .filter(|r| r.name.starts_with("Roomcast"))
        .collect();
    let mut header = String::from("| metric |");
    let mut rule = String::from("|---|");
    for r in rows {
        let _ = write!(header, " {} |", r.name);
        rule.push_str("---:|");
    }
    if sio.is_some() {
        for r in &roomcast {
            let _ = write!(header, " {} / Socket.IO |", short(r.name));
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for m in METRICS {
        let mut line = format!("| {} |", m.label);
        for r in rows {
            let _ = write!(line, " {} |", fmt((m.value)(r), m.digits));
        }
        if let Some(sio) = sio {
            for r in &roomcast {
                let cell = if m.ratio {
                    ratio((m.value)(r), (m.value)(sio))
                } else {
                    String::new()
                };
                let _ = write!(line, " {cell} |");
            }
        }
        let _ = writeln!(s, "{line}");
    }
    for r in rows {
        if r.refused + r.unexpected_disconnects + r.seq_errors > 0 || r.first_error.is_some() {
            let _ = writeln!(
                s,
                "\n{}: {} error answers, {} unexpected disconnects, {} seq errors; first error: {}",
                r.name,
                r.refused,
                r.unexpected_disconnects,
                r.seq_errors,
                r.first_error.as_deref().unwrap_or("-")
            );
        }
    }
    for r in rows {
        if let Some(st) = &r.storm {
            let _ = writeln!(
                s,
                "\nReconnect storm ({}, {} connections):\n",
                r.name, r.connections
            );
            let _ = writeln!(s, "| step | result |\n|---|---:|");
            let _ = writeln!(
                s,
                "| SIGKILL → new server listening (ms) | {:.0} |",
                st.restart_ms
            );
            let _ = writeln!(
                s,
                "| listening → half the clients rejoined (ms) | {:.0} |",
                st.half_ms
            );
            let _ = writeln!(
                s,
                "| listening → every client rejoined (ms) | {:.0} |",
                st.rejoined_ms
            );
            let _ = writeln!(
                s,
                "| listening → every client caught up (ms) | {:.0} |",
                st.caught_up_ms
            );
            let _ = writeln!(
                s,
                "| publishes in flight at the kill, re-sent | {} |",
                st.resent
            );
            let _ = writeln!(
                s,
                "| connections lost (one per client expected) | {} |",
                st.disconnects
            );
            let drops = st.listen_drops.map_or("-".into(), |d| d.to_string());
            let _ = writeln!(
                s,
                "| connections dropped from a full listen queue | {drops} |"
            );
            let _ = writeln!(s, "| messages published in the run | {} |", r.published);
            let _ = writeln!(s, "| lost deliveries | {} |", r.lost);
            let _ = writeln!(s, "| duplicate deliveries | {} |", r.dups);
            let _ = writeln!(
                s,
                "| seq errors (gap, repeat, unrecovered) | {} |",
                r.seq_errors
            );
            let _ = writeln!(
                s,
                "| all caught up in time | {} |",
                if st.complete { "yes" } else { "no" }
            );
        }
    }
    s
}

/// "Roomcast (persisted)" → "persisted".
fn short(name: &str) -> &str {
    name.strip_prefix("Roomcast (")
        .and_then(|n| n.strip_suffix(')'))
        .unwrap_or(name)
}

fn fmt(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "-".into()
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b != 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

/// The saturation and churn report as Markdown; the ratios of the maxima come last.
pub fn render_document(args: &Args, doc: &Document) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} connections, {} rooms ({} per room, 1 publisher each), {} B padding, loopback; \
         load average {:.2} at the start, {:.2} at the end.\n",
        doc.connections,
        doc.rooms,
        doc.connections / doc.rooms.max(1),
        doc.payload,
        doc.load_start,
        doc.load_end
    );
    if !doc.saturation.is_empty() {
        let _ = writeln!(
            s,
            "Saturation: from {} msg/s, ×{} per step, {} s measured per step after {} s \
             warm-up; sustained = at least 95% of the owed deliveries in the window, backlog \
             growth under 10%, p99 under {} ms, nothing lost after the drain.\n",
            args.start_rate,
            args.step_factor,
            args.duration(),
            args.warmup,
            args.p99_bound_ms
        );
        let _ = writeln!(
            s,
            "| server | max offered msg/s | max delivered/s | p50 ms | p99 ms | p99.9 ms | \
             server CPU ms / 1000 deliveries | RSS / connection KiB | next step |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for sat in &doc.saturation {
            let next = sat
                .steps
                .iter()
                .find(|st| !st.sustained)
                .map_or("(none failed)".to_owned(), |st| {
                    format!("{:.0}: {}", st.offered_per_s, st.verdict)
                });
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
                sat.name,
                opt(sat.max_offered_per_s, 0),
                opt(sat.max_delivered_per_s, 0),
                opt(sat.p50_ms, 2),
                opt(sat.p99_ms, 2),
                opt(sat.p99_9_ms, 2),
                opt(sat.cpu_ms_per_1000, 3),
                sat.rss_per_conn_kib,
                next
            );
        }
        for sat in &doc.saturation {
            let _ = writeln!(s, "\n{}, every step:\n", sat.name);
            let _ = writeln!(
                s,
                "| offered msg/s | published/s | delivered/s | of owed | p50 ms | p99 ms | \
                 p99.9 ms | CPU ms/1000 | cores: server, generator | backlog start → end | \
                 drain ms | lost | dups | verdict |"
            );
            let _ = writeln!(
                s,
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            );
            for st in &sat.steps {
                let _ = writeln!(
                    s,
                    "| {:.0} | {:.0} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.2} | {} | {}, {} | {} → {} | {:.0} | {} | {} | {} |",
                    st.offered_per_s,
                    st.published_per_s,
                    st.delivered_per_s,
                    100.0 * st.delivered_per_s / st.expected_per_s,
                    st.p50_ms,
                    st.p99_ms,
                    st.p99_9_ms,
                    fmt(st.cpu_ms_per_1000, 3),
                    fmt(st.server_cpu_s / st.measured_s, 2),
                    fmt(st.generator_cpu_s / st.measured_s, 2),
                    st.backlog_start,
                    st.backlog_end,
                    st.drain_ms,
                    st.lost,
                    st.dups,
                    st.verdict
                );
            }
            if sat.disconnects + sat.refused > 0 || sat.first_error.is_some() {
                let _ = writeln!(
                    s,
                    "\n{}: {} connections lost, {} error answers; first error: {}",
                    sat.name,
                    sat.disconnects,
                    sat.refused,
                    sat.first_error.as_deref().unwrap_or("-")
                );
            }
        }
    }
    if !doc.churn.is_empty() {
        let _ = writeln!(
            s,
            "\nChurn: {} msg/s, {} s; every connection closed about every {} s and offline \
             about {} s (both ±25%).\n",
            args.rate,
            args.duration(),
            args.churn_every,
            args.churn_offline
        );
        let _ = writeln!(
            s,
            "| server | delivered (exactly once) | lost | duplicates | forced closes | \
             re-sent publishes | replay p50 ms | replay p99 ms | latency p50 ms | latency p99 ms |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for c in &doc.churn {
            let _ = writeln!(
                s,
                "| {} | {:.3}% | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
                c.name,
                c.delivery_pct,
                c.lost,
                c.dups,
                c.forced_closes,
                c.resent,
                if c.replays {
                    fmt(c.replay_p50_ms, 1)
                } else {
                    "-".into()
                },
                if c.replays {
                    fmt(c.replay_p99_ms, 1)
                } else {
                    "-".into()
                },
                c.p50_ms,
                c.p99_ms
            );
        }
        for c in &doc.churn {
            if c.disconnects + c.refused + c.seq_errors > 0 || c.first_error.is_some() {
                let _ = writeln!(
                    s,
                    "\n{}: {} connections lost besides the forced closes, {} error answers, \
                     {} seq errors; first error: {}",
                    c.name,
                    c.disconnects,
                    c.refused,
                    c.seq_errors,
                    c.first_error.as_deref().unwrap_or("-")
                );
            }
        }
    }
    if !doc.ratios.is_empty() {
        let _ = writeln!(
            s,
            "\nRatios of the maximum sustained deliveries per second (same run, same machine):\n"
        );
        let _ = writeln!(s, "| ratio | measured | target |\n|---|---:|---:|");
        for r in &doc.ratios {
            let prefix = match r.bound {
                Bound::Exact => "",
                Bound::AtLeast => "≥ ",
                Bound::AtMost => "≤ ",
                Bound::Unknown => "? ",
            };
            let _ = writeln!(
                s,
                "| {} | {prefix}{} | {} |",
                r.label,
                opt(r.value, 2),
                opt(r.target, 1)
            );
        }
        if doc.ratios.iter().any(|r| r.bound != Bound::Exact) {
            let _ = writeln!(
                s,
                "\n≥ / ≤: one side never fell behind before the last step, so its maximum is \
                 only a floor (raise --max-steps or --max-rate); ?: neither did."
            );
        }
    }
    s
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| fmt(v, digits))
}
