//! SVG charts for the HTML report, drawn with plotters: a time series per benchmark and a
//! roofline per run. Pure: data in, SVG text out.

mod roofline;
mod series;

pub use roofline::{Ceiling, RooflinePoint, roofline_svg};
pub use series::series_svg;
