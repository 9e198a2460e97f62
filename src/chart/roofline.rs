//! A roofline of one run: achieved FLOP/s against arithmetic intensity (FLOP per byte moved),
//! log–log, under the bandwidth and compute ceilings. Ceilings the run does not know (a CPU's,
//! a GPU's compute peak) are drawn at the best value measured and labelled so.

use plotters::prelude::*;

#[derive(Debug, Clone)]
pub struct RooflinePoint {
    pub id: String,
    /// FLOP per byte.
    pub intensity: f64,
    pub flop_per_s: f64,
}

/// A ceiling of the roofline and what it is (`peak bandwidth`, `best measured copy`, …).
#[derive(Debug, Clone)]
pub struct Ceiling {
    pub value: f64,
    pub label: String,
}

/// SVG roofline under the ceilings given; a missing one is the best the points reach.
pub fn roofline_svg(
    points: &[RooflinePoint],
    bandwidth: Option<Ceiling>,
    compute: Option<Ceiling>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 420)).into_drawing_area();
        let _ = draw(&root, points, bandwidth, compute);
        let _ = root.present();
    }
    svg
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    points: &[RooflinePoint],
    bandwidth: Option<Ceiling>,
    compute: Option<Ceiling>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let points: Vec<&RooflinePoint> = points
        .iter()
        .filter(|p| p.intensity > 0.0 && p.flop_per_s > 0.0 && p.intensity.is_finite())
        .collect();
    if points.is_empty() {
        root.draw(&Text::new(
            "no FLOP-counting results",
            (20, 20),
            ("sans-serif", 14).into_font(),
        ))?;
        return Ok(());
    }
    let best_flops = points.iter().map(|p| p.flop_per_s).fold(0.0, f64::max);
    let best_bw = points
        .iter()
        .map(|p| p.flop_per_s / p.intensity)
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
        return Ok(());
    }
    let x_lo = points
        .iter()
        .map(|p| p.intensity)
        .fold(f64::MAX, f64::min)
        .min(peak / bw)
        / 4.0;
    let x_hi = points
        .iter()
        .map(|p| p.intensity)
        .fold(0.0, f64::max)
        .max(peak / bw)
        * 4.0;
    let y_hi = peak.max(best_flops) * 2.0;
    let y_lo = points
        .iter()
        .map(|p| p.flop_per_s)
        .fold(f64::MAX, f64::min)
        .min(bw * x_lo)
        / 2.0;
    let mut chart = ChartBuilder::on(root)
        .caption("roofline", ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (FLOP/byte)")
        .y_desc("FLOP/s")
        .x_labels(8)
        .y_labels(8)
        .light_line_style(WHITE.mix(0.0))
        .y_label_formatter(&|v| crate::report::format_flops(*v))
        .draw()?;
    let ridge = peak / bw;
    chart.draw_series(LineSeries::new(
        [(x_lo, bw * x_lo), (ridge, peak), (x_hi, peak)],
        BLACK.stroke_width(2),
    ))?;
    let style = ("sans-serif", 12).into_font();
    chart.draw_series(std::iter::once(Text::new(
        format!("{peak_label}: {}", crate::report::format_flops(peak)),
        (ridge * 1.1, peak * 1.15),
        style.clone(),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        format!("{bw_label}: {}", crate::report::format_bytes_per_s(bw)),
        (x_lo * 1.2, bw * x_lo * 1.4),
        style,
    )))?;
    chart.draw_series(
        points
            .iter()
            .map(|p| Circle::new((p.intensity, p.flop_per_s), 4, RED.filled())),
    )?;
    Ok(())
}
