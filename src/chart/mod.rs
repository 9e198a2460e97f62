//! SVG charts for the HTML report, drawn with plotters: a time series per benchmark and a
//! roofline per run. plotters draws axes, lines and bands; the data points are SVG elements
//! of our own on top (class `pt`, each with a `<title>` tooltip and a link), placed at
//! plotters' pixel coordinates. Pure: data in, SVG text out, meant to be inlined in a page.

mod roofline;
mod series;

use maud::Markup;

pub use roofline::{Ceiling, RooflinePoint, roofline_svg};
pub use series::{MAX_CHART_POINTS, PointMark, robust_range, series_svg};

/// Slower: a dark red that reads on white (WCAG contrast above 4.5:1), as the report's text.
pub const SLOWER_COLOUR: &str = "#b00020";
/// Faster: a dark green that reads on white.
pub const FASTER_COLOUR: &str = "#1b7f2a";
/// The data points.
pub const POINT_COLOUR: &str = "#1f4e9e";

/// plotters' SVG document with the class the page's script and CSS look for, an accessible
/// label, and the overlay (points, marks) drawn last, on top.
fn finish(svg: String, overlay: Option<Markup>, label: &str) -> String {
    let mut out = svg.replacen(
        "<svg ",
        &format!(
            "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" ",
            escape_attr(label)
        ),
        1,
    );
    if let (Some(o), Some(end)) = (overlay, out.rfind("</svg>")) {
        out.insert_str(end, &o.into_string());
    }
    out
}

/// maud's escaping (`&`, `<`, `>`, `"`), for text put into an attribute by hand.
fn escape_attr(text: &str) -> String {
    maud::html! { (text) }.into_string()
}
