//! The saturation charts: delivered deliveries per second against the offered rate, and p99
//! latency against the offered rate, one line per server, as SVG for docs/. Drawn from the
//! JSON document, so a saved run (`--json-out`) can be drawn again (`--chart-from`).
//!
//! plotters with only its SVG backend and line series: three small crates, no font or image
//! libraries (text is left to the SVG viewer).

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::BenchError;
use crate::results::{Document, Saturation};

/// Line colours, one per server in the order of the run.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
const SIZE: (u32, u32) = (900, 540);

/// Writes `saturation-delivered.svg` and `saturation-p99.svg` into `dir`; their paths.
pub fn write(doc: &Document, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    if doc.saturation.iter().all(|s| s.steps.is_empty()) {
        return Err(BenchError::Chart("no saturation steps to draw".into()));
    }
    std::fs::create_dir_all(dir)?;
    let delivered = dir.join("saturation-delivered.svg");
    let p99 = dir.join("saturation-p99.svg");
    draw(
        doc,
        &delivered,
        "Delivered vs offered (higher is better)",
        "deliveries per second",
        |s| s.delivered_per_s,
        true,
    )?;
    draw(
        doc,
        &p99,
        "p99 latency vs offered (lower is better)",
        "p99 latency, ms",
        |s| s.p99_ms,
        false,
    )?;
    Ok(vec![delivered, p99])
}

/// One chart: the offered rate on a log x axis, `value` on a log y axis; filled markers for
/// sustained steps, hollow ones for the step that was not. With `owed`, a grey line shows
/// what the offered rate owes (a server on it keeps up), and the y axis counts deliveries;
/// without, it is in milliseconds.
///
/// The axes are linear over log10 of the values, labelled with the values themselves:
/// plotters' own log axis labels only powers of ten and their multiples, which leaves the
/// geometric steps between 1000 and 10 000 unlabelled.
fn draw(
    doc: &Document,
    path: &Path,
    title: &str,
    y_desc: &str,
    value: fn(&crate::results::Step) -> f64,
    owed: bool,
) -> Result<(), BenchError> {
    let err = |e: &dyn std::fmt::Display| BenchError::Chart(format!("{}: {e}", path.display()));
    let points = |s: &Saturation| -> Vec<(f64, f64, bool)> {
        s.steps
            .iter()
            .map(|st| (st.offered_per_s, value(st), st.sustained))
            .filter(|&(x, y, _)| x > 0.0 && y.is_finite() && y > 0.0)
            .collect()
    };
    let all: Vec<(f64, f64, bool)> = doc.saturation.iter().flat_map(points).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0.0f64, f64::MAX, 0.0f64);
    for &(x, y, _) in &all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let expected: Vec<(f64, f64)> = doc
        .saturation
        .iter()
        .max_by_key(|s| s.steps.len())
        .map(|s| {
            s.steps
                .iter()
                .map(|st| (st.offered_per_s, st.expected_per_s))
                .collect()
        })
        .unwrap_or_default();
    if owed {
        for &(_, y) in &expected {
            y1 = y1.max(y);
        }
    }
    if all.is_empty() || !(x0 > 0.0 && y0 > 0.0) {
        return Err(err(&"nothing to draw"));
    }
    let lg = |(x, y): (f64, f64)| (x.log10(), y.log10());
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(80)
        .build_cartesian_2d(
            (x0 / 1.15).log10()..(x1 * 1.15).log10(),
            (y0 / 1.5).log10()..(y1 * 1.5).log10(),
        )
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_labels(12)
        .y_labels(10)
        .x_desc("offered rate, messages per second (all rooms)")
        .y_desc(y_desc)
        .x_label_formatter(&|v| compact(round2(10f64.powf(*v))))
        .y_label_formatter(&|v| {
            let y = round2(10f64.powf(*v));
            if owed {
                compact(y)
            } else {
                trim(y)
            }
        })
        .draw()
        .map_err(|e| err(&e))?;
    if owed && !expected.is_empty() {
        let grey = RGBColor(150, 150, 150);
        chart
            .draw_series(LineSeries::new(
                expected.into_iter().map(lg),
                grey.stroke_width(1),
            ))
            .map_err(|e| err(&e))?
            .label("owed (keeping up)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
    }
    for (i, s) in doc.saturation.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts = points(s);
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, y, _)| lg((x, y))),
                colour.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(pts.iter().map(|&(x, y, sustained)| {
                let style = if sustained {
                    colour.filled()
                } else {
                    colour.stroke_width(2)
                };
                Circle::new(lg((x, y)), 4, style)
            }))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        // Delivered curves rise to the right, leaving the upper left free; p99 curves start
        // low on the left and rise, leaving the lower right free.
        .position(if owed {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::LowerRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// `v` rounded to two significant digits (axis labels of a log axis).
fn round2(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return v;
    }
    let scale = 10f64.powi(v.log10().floor() as i32 - 1);
    (v / scale).round() * scale
}

/// 1500 → "1.5k", 2000000 → "2M", 0.5 → "0.5".
fn compact(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_labels() {
        assert_eq!(compact(1500.0), "1.5k");
        assert_eq!(compact(2_000_000.0), "2M");
        assert_eq!(compact(0.5), "0.5");
        assert_eq!(compact(100.0), "100");
        assert_eq!(round2(3162.3), 3200.0);
        assert_eq!(compact(round2(15188.0)), "15k");
    }
}
