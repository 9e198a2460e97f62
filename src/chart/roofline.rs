//! A roofline of one run: achieved FLOP/s against arithmetic intensity (FLOP per byte moved),
//! log–log, under the bandwidth and compute ceilings. Ceilings the run does not know (a CPU's,
//! a GPU's compute peak) are drawn at the best value measured and labelled so.

use maud::{Markup, html};
use plotters::prelude::*;

use super::{POINT_COLOUR, finish};

#[derive(Debug, Clone)]
pub struct RooflinePoint {
    pub id: String,
    /// FLOP per byte.
    pub intensity: f64,
    pub flop_per_s: f64,
    /// Where a click on the point leads (its benchmark's page), if anywhere.
    pub href: Option<String>,
}

/// A ceiling of the roofline and what it is (`peak bandwidth`, `best measured copy`, …).
#[derive(Debug, Clone)]
pub struct Ceiling {
    pub value: f64,
    pub label: String,
}

/// SVG roofline under the ceilings given; a missing one is the best the points reach. Each
/// point is numbered `n` for its index + 1 in `points`, so the page can list what it is.
pub fn roofline_svg(
    points: &[RooflinePoint],
    bandwidth: Option<Ceiling>,
    compute: Option<Ceiling>,
) -> String {
    let mut svg = String::new();
    let mut overlay = None;
    {
        let root = SVGBackend::with_string(&mut svg, (860, 440)).into_drawing_area();
        if let Ok(o) = draw(&root, points, bandwidth, compute) {
            overlay = o;
        }
        let _ = root.present();
    }
    finish(svg, overlay, "roofline of the newest run")
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    points: &[RooflinePoint],
    bandwidth: Option<Ceiling>,
    compute: Option<Ceiling>,
) -> Result<Option<Markup>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let points: Vec<(usize, &RooflinePoint)> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.intensity > 0.0 && p.flop_per_s > 0.0 && p.intensity.is_finite())
        .collect();
    if points.is_empty() {
        root.draw(&Text::new(
            "no FLOP-counting results",
            (20, 20),
            ("sans-serif", 14).into_font(),
        ))?;
        return Ok(None);
    }
    let best_flops = points.iter().map(|(_, p)| p.flop_per_s).fold(0.0, f64::max);
    let best_bw = points
        .iter()
        .map(|(_, p)| p.flop_per_s / p.intensity)
        .fold(0.0, f64::max);
    let usable = |c: Option<Ceiling>| c.filter(|c| c.value.is_finite() && c.value > 0.0);
    let (bandwidth, compute) = (usable(bandwidth), usable(compute));
    let (bw, bw_label) = match bandwidth {
        Some(b) => (b.value, b.label),
        None => (best_bw, "best measured bandwidth".to_string()),
    };
    let (peak, peak_label) = match compute {
        Some(c) => (c.value, c.label),
        None => (best_flops, "best measured compute".to_string()),
    };
    if !(bw.is_finite() && bw > 0.0 && peak.is_finite() && peak > 0.0) {
        root.draw(&Text::new(
            "no usable ceilings",
            (20, 20),
            ("sans-serif", 14).into_font(),
        ))?;
        return Ok(None);
    }
    let x_lo = points
        .iter()
        .map(|(_, p)| p.intensity)
        .fold(f64::MAX, f64::min)
        .min(peak / bw)
        / 4.0;
    let x_hi = points
        .iter()
        .map(|(_, p)| p.intensity)
        .fold(0.0, f64::max)
        .max(peak / bw)
        * 4.0;
    let y_hi = peak.max(best_flops) * 2.0;
    let y_lo = points
        .iter()
        .map(|(_, p)| p.flop_per_s)
        .fold(f64::MAX, f64::min)
        .min(bw * x_lo)
        / 2.0;
    let mut chart = ChartBuilder::on(root)
        .caption("roofline", ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(105)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (FLOP/byte)")
        .y_desc("FLOP/s")
        .x_labels(8)
        .y_labels(8)
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .y_label_formatter(&|v| crate::report::format_flops(*v))
        .draw()?;
    let ridge = peak / bw;
    chart.draw_series(LineSeries::new(
        [(x_lo, bw * x_lo), (ridge, peak), (x_hi, peak)],
        BLACK.stroke_width(2),
    ))?;
    let style = ("sans-serif", 13).into_font();
    chart.draw_series(std::iter::once(Text::new(
        format!("{peak_label}: {}", crate::report::format_flops(peak)),
        (ridge * 1.1, peak * 1.45),
        style.clone(),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("{bw_label}: {}", crate::report::format_bytes_per_s(bw)),
        // Above the slope, a third of the way to the ridge (log scale).
        (
            x_lo * (ridge / x_lo).powf(0.3),
            bw * x_lo * (ridge / x_lo).powf(0.3) * 1.7,
        ),
        style,
    )))?;
    let dots: Vec<(i32, i32, usize, String, &str)> = points
        .iter()
        .map(|(i, p)| {
            let (x, y) = chart.backend_coord(&(p.intensity, p.flop_per_s));
            let tip = format!(
                "{}\n{:.3} FLOP/byte · {} · {} moved",
                p.id,
                p.intensity,
                crate::report::format_flops(p.flop_per_s),
                crate::report::format_bytes_per_s(p.flop_per_s / p.intensity)
            );
            (x, y, i + 1, tip, p.href.as_deref().unwrap_or("#"))
        })
        .collect();
    Ok(Some(html! {
        g.points {
            @for (x, y, n, tip, href) in &dots {
                a href=(href) {
                    circle.pt cx=(x) cy=(y) r="5" fill=(POINT_COLOUR) fill-opacity="0.85" {
                        title { (tip) }
                    }
                    // The number, on a white halo so it reads over the lines.
                    text x=(x + 7) y=(y - 6) font-family="sans-serif" font-size="12"
                        font-weight="bold" fill="#222" stroke="white" stroke-width="3"
                        paint-order="stroke" { (n) }
                }
            }
        }
    }))
}
