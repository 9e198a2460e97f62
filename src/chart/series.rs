//! One benchmark's history: the per-commit median with its CI band, change points marked,
//! commits along the x axis. plotters draws the axes, band and line; the points and change
//! marks are SVG elements of our own on top, at plotters' pixel coordinates, so each point can
//! carry its tooltip (`<title>`) and link, and the page's script can find them (`.pt`).

use maud::{Markup, html};
use plotters::prelude::*;

use super::{FASTER_COLOUR, POINT_COLOUR, SLOWER_COLOUR, finish};
use crate::history::{Direction, Point, Series};
use crate::stats::quantile;

/// Newest commits drawn: a chart of thousands of commits is unreadable and heavy; the change
/// points are still searched over the whole history.
pub const MAX_CHART_POINTS: usize = 500;

/// What a point says on hover and where a click on it leads.
#[derive(Debug, Clone)]
pub struct PointMark {
    pub tip: String,
    pub href: String,
}

/// Time unit that keeps the axis numbers readable.
fn unit_for(max_seconds: f64) -> (f64, &'static str) {
    if max_seconds >= 1.0 {
        (1.0, "s")
    } else if max_seconds >= 1e-3 {
        (1e3, "ms")
    } else if max_seconds >= 1e-6 {
        (1e6, "µs")
    } else {
        (1e9, "ns")
    }
}

/// The y range (seconds) that shows the bulk of the series: from the 5th to the 95th
/// percentile of the medians, widened by 1.5 times that spread (at least 2% of the level) on
/// each side, and no wider than the data and their CIs. A point outside it is drawn at the
/// edge, marked as off scale, so one outlier does not flatten the rest into a line.
pub fn robust_range(points: &[Point]) -> (f64, f64) {
    let full_lo = points
        .iter()
        .map(|p| p.ci_low.min(p.median))
        .fold(f64::MAX, f64::min);
    let full_hi = points
        .iter()
        .map(|p| p.ci_high.max(p.median))
        .fold(f64::MIN, f64::max);
    if points.len() < 8 {
        return (full_lo, full_hi);
    }
    let mut medians: Vec<f64> = points.iter().map(|p| p.median).collect();
    medians.sort_by(f64::total_cmp);
    let (q_lo, q_hi) = (quantile(&medians, 0.05), quantile(&medians, 0.95));
    let spread = (q_hi - q_lo).max(q_hi.abs() * 0.02);
    let (lim_lo, lim_hi) = (q_lo - 1.5 * spread, q_hi + 1.5 * spread);
    let inside = || {
        points
            .iter()
            .filter(move |p| (lim_lo..=lim_hi).contains(&p.median))
    };
    let lo = inside()
        .map(|p| p.ci_low.min(p.median))
        .fold(f64::MAX, f64::min)
        .max(lim_lo);
    let hi = inside()
        .map(|p| p.ci_high.max(p.median))
        .fold(f64::MIN, f64::max)
        .min(lim_hi);
    (lo.max(full_lo), hi.min(full_hi))
}

/// The series' newest `max_points` (at most `MAX_CHART_POINTS`) as an SVG document of `size`
/// pixels (empty series: a chart saying so). `marks` go with `s.points`, one each.
pub fn series_svg(s: &Series, marks: &[PointMark], size: (u32, u32), max_points: usize) -> String {
    let mut svg = String::new();
    let mut overlay = None;
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        // Drawing into a string cannot fail for lack of space or I/O; an error here would be
        // a plotters bug, and the chart is then left incomplete rather than the report lost.
        if let Ok(o) = draw(&root, s, marks, size, max_points.min(MAX_CHART_POINTS)) {
            overlay = o;
        }
        let _ = root.present();
    }
    finish(svg, overlay, &format!("history of {}", s.id))
}

struct Mark<'a> {
    x: i32,
    y: i32,
    /// Off scale: above (true) or below (false) the drawn range.
    off: Option<bool>,
    mark: Option<&'a PointMark>,
}

struct ChangeMark {
    x: i32,
    top: i32,
    bottom: i32,
    colour: &'static str,
    label: String,
    tip: String,
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    s: &Series,
    marks: &[PointMark],
    size: (u32, u32),
    max_points: usize,
) -> Result<Option<Markup>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    if s.points.is_empty() {
        root.draw(&Text::new(
            "no usable results",
            (20, 20),
            ("sans-serif", 14).into_font(),
        ))?;
        return Ok(None);
    }
    let start = s.points.len().saturating_sub(max_points.max(1));
    let points = &s.points[start..];
    let (lo, hi) = robust_range(points);
    let off_scale = points
        .iter()
        .filter(|p| p.median < lo || p.median > hi)
        .count();
    let mut caption = s.id.clone();
    if start > 0 {
        caption += &format!(" (newest {} of {} commits)", points.len(), s.points.len());
    }
    let earlier = s.change_points.iter().filter(|c| c.point < start).count();
    if earlier > 0 {
        caption += &format!(" · {earlier} change point(s) before these");
    }
    if off_scale > 0 {
        caption += &format!(" · {off_scale} off scale, drawn at the edge (△▽)");
    }
    let (scale, unit) = unit_for(hi);
    let pad = ((hi - lo) * 0.08).max(hi * 0.01);
    let (y0, y1) = (((lo - pad) * scale).max(0.0), (hi + pad) * scale);
    let n = points.len();
    let x1 = (n.max(2) - 1) as f64;
    // As many decimals as a tenth of the range needs, the same on every tick.
    let decimals = (-((y1 - y0) / 10.0).log10().floor()).clamp(0.0, 6.0) as usize;
    let mut chart = ChartBuilder::on(root)
        .caption(&caption, ("sans-serif", 15))
        .margin(10)
        .margin_top(6)
        .x_label_area_size(42)
        .y_label_area_size(78)
        .build_cartesian_2d(-0.5..x1 + 0.5, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("commit (oldest → newest)")
        .y_desc(format!("median time ({unit})"))
        .x_labels(n.min(8))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 1e-9 || i < 0.0 {
                return String::new();
            }
            points
                .get(i as usize)
                .map(|p| p.commit[..7.min(p.commit.len())].to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;

    let clamp = |v: f64| (v * scale).clamp(y0, y1);
    // CI band: upper edge forward, lower edge back.
    let band: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, clamp(p.ci_high)))
        .chain(
            points
                .iter()
                .enumerate()
                .rev()
                .map(|(i, p)| (i as f64, clamp(p.ci_low))),
        )
        .collect();
    let blue = RGBColor(0x1f, 0x4e, 0x9e);
    chart.draw_series(std::iter::once(Polygon::new(band, blue.mix(0.15).filled())))?;
    chart.draw_series(LineSeries::new(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, clamp(p.median))),
        blue.stroke_width(2),
    ))?;

    let dots: Vec<Mark> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (x, y) = chart.backend_coord(&(i as f64, clamp(p.median)));
            let off = (p.median > hi)
                .then_some(true)
                .or((p.median < lo).then_some(false));
            Mark {
                x,
                y,
                off,
                mark: marks.get(start + i),
            }
        })
        .collect();
    let (_, top) = chart.backend_coord(&(0.0, y1));
    let (_, bottom) = chart.backend_coord(&(0.0, y0));
    let cps: Vec<ChangeMark> = s
        .change_points
        .iter()
        .filter(|c| c.point >= start)
        .map(|cp| {
            let (colour, word) = match cp.direction {
                Direction::Slower => (SLOWER_COLOUR, "slower"),
                Direction::Faster => (FASTER_COLOUR, "faster"),
            };
            let (x, _) = chart.backend_coord(&((cp.point - start) as f64 - 0.5, y0));
            let label = format!("{:+.1}%", 100.0 * cp.change);
            ChangeMark {
                x,
                top,
                bottom,
                colour,
                tip: format!(
                    "change point: {label} ({word}) at {}",
                    &cp.commit[..cp.commit.len().min(7)]
                ),
                label,
            }
        })
        .collect();
    let width = size.0 as i32;
    // Dots shrink as commits crowd, so the line stays readable at 500 points.
    let r = ((size.0 as f64 - 100.0) / n as f64 / 2.5).clamp(1.6, 3.5);
    let r = format!("{r:.1}");
    Ok(Some(html! {
        g.changes {
            @for (i, c) in cps.iter().enumerate() {
                @let y = c.top + 2 + 17 * (i as i32 % 2);
                @let w = 8 * c.label.len() as i32 + 6;
                // Near the right edge the label goes on the left of the line.
                @let (rx, tx, anchor) = if c.x + w + 4 > width { (c.x - w - 3, c.x - 5, "end") } else { (c.x + 3, c.x + 5, "start") };
                g.cp {
                    title { (c.tip) }
                    line x1=(c.x) y1=(c.top) x2=(c.x) y2=(c.bottom) stroke=(c.colour)
                        stroke-width="2" stroke-dasharray="6 3" {}
                    rect x=(rx) y=(y) width=(w) height="15" rx="2" fill="white"
                        stroke=(c.colour) stroke-width="1" {}
                    text x=(tx) y=(y + 12) text-anchor=(anchor) fill=(c.colour)
                        font-family="sans-serif" font-size="12" font-weight="bold" { (c.label) }
                }
            }
        }
        g.points {
            @for d in &dots {
                @let (tip, href) = d.mark.map_or(("", "#"), |m| (m.tip.as_str(), m.href.as_str()));
                @let tip = if d.off.is_some() { format!("{tip}\n(off scale: drawn at the edge)") } else { tip.to_string() };
                a href=(href) {
                    @match d.off {
                        Some(up) => {
                            @let dy = if up { 6 } else { -6 };
                            path.pt.off d=(format!("M{} {}l-5 {}h10z", d.x, d.y - dy, 2 * dy))
                                fill="white" stroke=(POINT_COLOUR) stroke-width="1.5" {
                                title { (tip) }
                            }
                        }
                        None => {
                            circle.pt cx=(d.x) cy=(d.y) r=(r) fill=(POINT_COLOUR) {
                                title { (tip) }
                            }
                        }
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::Family;

    fn series(medians: &[f64]) -> Series {
        Series {
            id: "gemm/x/f32/y".into(),
            family: Family::Gemm,
            flops: 1,
            bytes: 1,
            reports_bandwidth: false,
            points: medians
                .iter()
                .enumerate()
                .map(|(i, &m)| Point {
                    position: i,
                    commit: format!("{i:040x}"),
                    date: "2026-01-01".into(),
                    median: m,
                    ci_low: m * 0.99,
                    ci_high: m * 1.01,
                    runs: 1,
                })
                .collect(),
            unusable: 0,
            change_points: Vec::new(),
            creep: Vec::new(),
        }
    }

    #[test]
    fn one_outlier_does_not_set_the_range_and_is_drawn_off_scale() {
        let mut medians = vec![1.0e-3; 40];
        for (i, m) in medians.iter_mut().enumerate() {
            *m *= 1.0 + 0.002 * (i % 5) as f64;
        }
        medians[20] = 10e-3;
        let s = series(&medians);
        let (lo, hi) = robust_range(&s.points);
        assert!(lo > 0.98e-3 && hi < 1.03e-3, "{lo} {hi}");
        let marks: Vec<PointMark> = (0..40)
            .map(|i| PointMark {
                tip: format!("point {i}"),
                href: format!("#c{i}"),
            })
            .collect();
        let svg = series_svg(&s, &marks, (760, 300), MAX_CHART_POINTS);
        assert!(svg.contains("1 off scale"), "{svg}");
        assert_eq!(svg.matches("class=\"pt\"").count(), 39);
        assert_eq!(svg.matches("class=\"pt off\"").count(), 1);
        assert!(svg.contains("point 20\n(off scale: drawn at the edge)"));
        // A step stays wholly in range.
        let step: Vec<f64> = (0..40).map(|i| if i < 20 { 1e-3 } else { 2e-3 }).collect();
        let (lo, hi) = robust_range(&series(&step).points);
        assert!(lo <= 0.99e-3 && hi >= 2.02e-3 * 0.999, "{lo} {hi}");
        // Only the newest `max_points` are drawn.
        let svg = series_svg(&series(&step), &marks, (760, 300), 10);
        assert_eq!(svg.matches("class=\"pt").count(), 10);
        assert!(svg.contains("newest 10 of 40"));
    }
}
