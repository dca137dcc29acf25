//! SVG line plots of a report's per-frame series, for the HTML report.

use kinema_core::{Error, Result};
use plotters::prelude::*;

/// One named line of a plot.
pub struct Line<'a> {
    pub label: &'a str,
    pub values: &'a [f64],
    pub colour: RGBColor,
}

/// Renders `lines` against their index as a self-contained SVG document.
///
/// `y_range` fixes the vertical axis (so scores from different engines compare at a
/// glance); `None` fits it to the data, starting at zero.
pub fn line_plot(
    title: &str,
    x_label: &str,
    lines: &[Line<'_>],
    y_range: Option<(f64, f64)>,
) -> Result<String> {
    let mut svg = String::new();
    let fail = |e: &dyn std::fmt::Display| {
        Error::internal(format!("could not draw the plot `{title}`: {e}"))
    };
    {
        let root = SVGBackend::with_string(&mut svg, (420, 220)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let longest = lines.iter().map(|l| l.values.len()).max().unwrap_or(0);
        let x_max = (longest.max(2) - 1) as f64;
        let (y_lo, y_hi) = y_range.unwrap_or_else(|| {
            let top = lines
                .iter()
                .flat_map(|l| l.values.iter().cloned())
                .filter(|v| v.is_finite())
                .fold(0.0f64, f64::max);
            (0.0, if top > 0.0 { top * 1.1 } else { 1.0 })
        });
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..x_max, y_lo..y_hi)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| fail(&e))?;
        for line in lines {
            let colour = line.colour;
            let points = line
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, &v)| (i as f64, v.clamp(y_lo, y_hi)));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(|e| fail(&e))?
                .label(line.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_standalone_svg_with_the_title() {
        let values = [0.9, 0.95, 1.0];
        let svg = line_plot(
            "identity",
            "frame",
            &[Line {
                label: "s",
                values: &values,
                colour: BLUE,
            }],
            Some((0.0, 1.0)),
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("identity"));
        assert!(svg.contains("<polyline"));
        assert!(
            !svg.contains("http://") || !svg.contains("href=\"http"),
            "no external references"
        );
    }
}
