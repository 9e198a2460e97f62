//! One benchmark's history: the per-commit median with its CI band, change points marked,
//! commits along the x axis.

use plotters::prelude::*;

use crate::history::{Direction, Series};

/// Newest commits drawn: a chart of thousands of commits is unreadable and heavy; the change
/// points are still searched over the whole history.
pub const MAX_CHART_POINTS: usize = 500;

const WIDTH: u32 = 760;
const HEIGHT: u32 = 300;

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

/// The series as an SVG document (empty series: a chart saying so).
pub fn series_svg(s: &Series) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        // Drawing into a string cannot fail for lack of space or I/O; an error here would be
        // a plotters bug, and the chart is then left incomplete rather than the report lost.
        let _ = draw(&root, s);
        let _ = root.present();
    }
    svg
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    s: &Series,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    if s.points.is_empty() {
        root.draw(&Text::new(
            "no usable results",
            (20, 20),
            ("sans-serif", 14).into_font(),
        ))?;
        return Ok(());
    }
    let start = s.points.len().saturating_sub(MAX_CHART_POINTS);
    let points = &s.points[start..];
    let caption = if start > 0 {
        format!(
            "{} (newest {} of {} commits)",
            s.id,
            points.len(),
            s.points.len()
        )
    } else {
        s.id.clone()
    };
    let hi = points
        .iter()
        .map(|p| p.ci_high.max(p.median))
        .fold(f64::MIN, f64::max);
    let lo = points
        .iter()
        .map(|p| p.ci_low.min(p.median))
        .fold(f64::MAX, f64::min);
    let (scale, unit) = unit_for(hi);
    let pad = ((hi - lo) * 0.1).max(hi * 0.01);
    let (y0, y1) = (((lo - pad) * scale).max(0.0), (hi + pad) * scale);
    let n = points.len();
    let x1 = (n.max(2) - 1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(&caption, ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(70)
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
        .light_line_style(WHITE.mix(0.0))
        .draw()?;

    // CI band: upper edge forward, lower edge back.
    let band: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, p.ci_high * scale))
        .chain(
            points
                .iter()
                .enumerate()
                .rev()
                .map(|(i, p)| (i as f64, p.ci_low * scale)),
        )
        .collect();
    chart.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15).filled())))?;
    chart.draw_series(LineSeries::new(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, p.median * scale)),
        BLUE.stroke_width(2),
    ))?;
    chart.draw_series(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| Circle::new((i as f64, p.median * scale), 2, BLUE.filled())),
    )?;
    for cp in s.change_points.iter().filter(|c| c.point >= start) {
        let color = match cp.direction {
            Direction::Slower => RED,
            Direction::Faster => GREEN,
        };
        let x = (cp.point - start) as f64 - 0.5;
        chart.draw_series(LineSeries::new([(x, y0), (x, y1)], color.stroke_width(2)))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:+.1}%", 100.0 * cp.change),
            (x, y1),
            ("sans-serif", 12).into_font().color(&color),
        )))?;
    }
    Ok(())
}
