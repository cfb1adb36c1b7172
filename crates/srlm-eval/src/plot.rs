//! The report's plots, each drawn twice — SVG (sharp in a browser or on a code-hosting site) and
//! PNG — with plotters and an embedded DejaVu Sans (no system fonts needed).

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{EvalError, Result};
use crate::head_to_head::Matchup;
use crate::judge_quality::JudgeQuality;
use crate::run_stats::{DpoCurve, IterationStats};

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const SIZE: (u32, u32) = (800, 480);
const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

type Drawn = std::result::Result<(), String>;

/// A named series: its legend label and how to read its value.
/// A labelled series: the value of one point, `None` where it is undefined (left out).
type Series<T> = (&'static str, fn(&T) -> Option<f64>);

fn font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the embedded font did not load; plots will have no text");
        }
    });
}

/// Draws `draw` into `dir/name.svg` and `dir/name.png`; returns the two paths.
fn both(
    dir: &Path,
    name: &str,
    draw: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
    draw_png: impl Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
) -> Result<[PathBuf; 2]> {
    font();
    let svg = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    let fail = |path: &Path, reason: String| EvalError::Plot {
        path: path.to_path_buf(),
        reason,
    };
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        draw(&root).map_err(|e| fail(&svg, e))?;
        root.present().map_err(|e| fail(&svg, e.to_string()))?;
    }
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        draw_png(&root).map_err(|e| fail(&png, e))?;
        root.present().map_err(|e| fail(&png, e.to_string()))?;
    }
    Ok([svg, png])
}

macro_rules! plot_both {
    ($dir:expr, $name:expr, $f:ident, $($arg:expr),*) => {
        both($dir, $name, |a| $f(a, $($arg),*), |a| $f(a, $($arg),*))
    };
}

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A labelled line through `points`, with a dot of radius `dots` on each point (0: none).
fn line<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    label: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    dots: u32,
) -> Drawn {
    chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
        .map_err(e)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    if dots > 0 {
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, dots, color.filled())),
            )
            .map_err(e)?;
    }
    Ok(())
}

/// The label of the category drawn at integer `x` (none between categories).
fn category_label(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 {
        labels.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Grouped bars, one group per (model, held-out set): pairwise accuracy with its bootstrap
/// interval and its chance floor (a black dash), Kendall τ with its interval, and the parse
/// rate.
fn judge_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, rows: &[JudgeQuality]) -> Drawn {
    root.fill(&WHITE).map_err(e)?;
    let names: Vec<String> = rows
        .iter()
        .map(|r| match r.set.as_str() {
            "" => r.model.clone(),
            set => format!("{} {set}", r.model),
        })
        .collect();
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Judge quality on held-out sets (95% bootstrap CI; dash: chance)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n - 0.5), -1f64..1f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_labels(rows.len().max(1))
        .x_label_formatter(&|x| category_label(&names, *x))
        .y_desc("value")
        .draw()
        .map_err(e)?;
    type Bar = fn(&JudgeQuality) -> Option<(f64, Option<crate::win_rate::Share>)>;
    let bars: [(&str, usize, Bar); 3] = [
        ("pairwise accuracy", 0, |r| {
            r.metrics
                .pairwise_accuracy
                .map(|v| (v, r.intervals.pairwise_accuracy))
        }),
        ("Kendall τ", 1, |r| {
            r.metrics.kendall_tau.map(|v| (v, r.intervals.kendall_tau))
        }),
        ("parse rate", 4, |r| Some((r.parse_rate, None))),
    ];
    for (k, (label, color_index, value)) in bars.iter().enumerate() {
        let color = COLORS[*color_index];
        let offset = (k as f64 - 1.0) * 0.25;
        let drawn: Vec<(f64, f64, Option<crate::win_rate::Share>)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| value(r).map(|(v, ci)| (i as f64 + offset, v, ci)))
            .collect();
        chart
            .draw_series(
                drawn.iter().map(|(x, v, _)| {
                    Rectangle::new([(x - 0.1, 0.0), (x + 0.1, *v)], color.filled())
                }),
            )
            .map_err(e)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart
            .draw_series(drawn.iter().filter_map(|(x, v, ci)| {
                ci.map(|s| ErrorBar::new_vertical(*x, s.low, *v, s.high, BLACK.stroke_width(1), 8))
            }))
            .map_err(e)?;
    }
    // The chance floor over each accuracy bar.
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            r.chance_pairwise_accuracy.map(|c| {
                let x = i as f64 - 0.25;
                PathElement::new(vec![(x - 0.12, c), (x + 0.12, c)], BLACK.stroke_width(3))
            })
        }))
        .map_err(e)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

fn win_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, matchups: &[Matchup]) -> Drawn {
    root.fill(&WHITE).map_err(e)?;
    let labels: Vec<String> = matchups
        .iter()
        .map(|m| format!("{} vs {}", m.a, m.b))
        .collect();
    let n = matchups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Head-to-head: win / tie / loss of A (95% bootstrap CI)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..(n - 0.5), 0f64..1f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_labels(matchups.len().max(1))
        .x_label_formatter(&|x| category_label(&labels, *x))
        .y_desc("share of prompts")
        .draw()
        .map_err(e)?;
    let kinds = [("win", 2usize), ("tie", 1), ("loss", 3)];
    for (k, (label, color_index)) in kinds.iter().enumerate() {
        let color = COLORS[*color_index];
        let offset = (k as f64 - 1.0) * 0.25;
        let shares: Vec<(f64, crate::win_rate::Share)> = matchups
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let s = match k {
                    0 => m.overall.win,
                    1 => m.overall.tie,
                    _ => m.overall.loss,
                };
                (i as f64 + offset, s)
            })
            .collect();
        chart
            .draw_series(
                shares.iter().map(|(x, s)| {
                    Rectangle::new([(x - 0.1, 0.0), (x + 0.1, s.value)], color.filled())
                }),
            )
            .map_err(e)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart
            .draw_series(shares.iter().map(|(x, s)| {
                ErrorBar::new_vertical(*x, s.low, s.value, s.high, BLACK.stroke_width(1), 8)
            }))
            .map_err(e)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

/// Width of a length-histogram bucket, in words.
pub const LENGTH_BUCKET: usize = 16;

fn length_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    iterations: &[IterationStats],
) -> Drawn {
    root.fill(&WHITE).map_err(e)?;
    let longest = iterations
        .iter()
        .flat_map(|i| i.candidate_words.iter().copied())
        .max()
        .unwrap_or(0);
    let buckets = longest / LENGTH_BUCKET + 1;
    let histograms: Vec<Vec<f64>> = iterations
        .iter()
        .map(|it| {
            let mut h = vec![0.0; buckets];
            for w in &it.candidate_words {
                h[w / LENGTH_BUCKET] += 1.0;
            }
            let n = it.candidate_words.len().max(1) as f64;
            h.iter().map(|c| c / n).collect()
        })
        .collect();
    let top = histograms
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(0.1);
    let mut chart = ChartBuilder::on(root)
        .caption(
            "Candidate response lengths by iteration",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..(buckets * LENGTH_BUCKET) as f64, 0f64..top * 1.1)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("words")
        .y_desc("share of responses")
        .draw()
        .map_err(e)?;
    for (k, (it, h)) in iterations.iter().zip(&histograms).enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = h
            .iter()
            .enumerate()
            .flat_map(|(b, v)| {
                let x = (b * LENGTH_BUCKET) as f64;
                [(x, *v), (x + LENGTH_BUCKET as f64, *v)]
            })
            .collect();
        let label = format!(
            "iteration {} (M{}), mean {:.0}",
            it.iteration, it.iteration, it.mean_candidate_words
        );
        line(&mut chart, label, color, points, 0)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

fn dpo_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, curve: &DpoCurve) -> Drawn {
    root.fill(&WHITE).map_err(e)?;
    let last = curve
        .points
        .iter()
        .map(|p| p.step)
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let values = curve
        .points
        .iter()
        .flat_map(|p| [p.loss, p.accuracy, p.margin])
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((0.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "DPO, iteration {} (M{} → M{})",
                curve.iteration,
                curve.iteration,
                curve.iteration + 1
            ),
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(1f64..last, (lo - 0.05)..(hi + 0.05))
        .map_err(e)?;
    chart.configure_mesh().x_desc("step").draw().map_err(e)?;
    let series: [Series<crate::run_stats::DpoPoint>; 3] = [
        ("loss", |p| Some(p.loss)),
        ("rewards/accuracies", |p| Some(p.accuracy)),
        ("rewards/margins", |p| Some(p.margin)),
    ];
    for (k, (label, f)) in series.iter().enumerate() {
        let color = COLORS[k];
        let points: Vec<(f64, f64)> = curve
            .points
            .iter()
            .filter_map(|p| f(p).map(|v| (p.step as f64, v)))
            .collect();
        line(&mut chart, label.to_string(), color, points, 3)?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

/// Judge metrics across models.
pub fn judge_plot(dir: &Path, rows: &[JudgeQuality]) -> Result<[PathBuf; 2]> {
    plot_both!(dir, "judge_quality", judge_chart, rows)
}

/// Win / tie / loss shares with intervals.
pub fn win_plot(dir: &Path, matchups: &[Matchup]) -> Result<[PathBuf; 2]> {
    plot_both!(dir, "win_rates", win_chart, matchups)
}

/// Length distributions per iteration.
pub fn length_plot(dir: &Path, iterations: &[IterationStats]) -> Result<[PathBuf; 2]> {
    plot_both!(dir, "lengths", length_chart, iterations)
}

/// One iteration's DPO curve.
pub fn dpo_plot(dir: &Path, curve: &DpoCurve) -> Result<[PathBuf; 2]> {
    plot_both!(
        dir,
        &format!("dpo_iter{}", curve.iteration),
        dpo_chart,
        curve
    )
}
