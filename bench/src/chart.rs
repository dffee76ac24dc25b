//! The bench's chart: median seconds per contender and scale factor, both axes on a log
//! scale (the contenders are orders of magnitude apart), as an SVG beside the Markdown
//! report. plotters' SVG backend writes text as SVG `<text>`: no font files are read.

use plotters::prelude::*;

use super::{Report, ORDER};

const SIZE: (u32, u32) = (960, 600);

/// The chart of `report`'s workout scales, as SVG text; None when no contender has a figure.
pub fn svg(report: &Report) -> Result<Option<String>, String> {
    let series: Vec<(&str, Vec<(f64, f64)>)> = ORDER
        .iter()
        .map(|name| {
            let points = report
                .scales
                .iter()
                .filter_map(|r| {
                    let secs = r.series.get(*name)?.median()?;
                    Some((f64::from(r.scale), secs.max(MIN_SECS)))
                })
                .collect::<Vec<_>>();
            (*name, points)
        })
        .filter(|(_, points)| !points.is_empty())
        .collect();
    let all = || series.iter().flat_map(|(_, p)| p.iter());
    let Some(x_max) = all().map(|p| p.0).reduce(f64::max) else {
        return Ok(None);
    };
    let x_min = all().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let y_min = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let y_max = all().map(|p| p.1).fold(0.0, f64::max);
    let mut text = String::new();
    draw(
        &mut text,
        &series,
        (x_min / 2.0)..(x_max * 2.0),
        (y_min / 2.0)..(y_max * 2.0),
    )
    .map_err(|e| format!("bench chart: {e}"))?;
    Ok(Some(text))
}

/// A contender faster than this is drawn at it (a log scale has no zero).
const MIN_SECS: f64 = 0.001;

fn draw(
    text: &mut String,
    series: &[(&str, Vec<(f64, f64)>)],
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(text, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "pgmig-bench, workout model: median seconds by scale factor",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x.log_scale(), y.log_scale())?;
    chart
        .configure_mesh()
        .x_desc("scale factor (1 = 200 plans, 5,000 logs), log scale")
        .y_desc("seconds (median), log scale")
        .draw()?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
