//! Figure drawing on top of plotters' bitmap backend: line/point charts and
//! side-by-side heat maps with a colour bar. Text uses a TrueType font
//! (DejaVu Sans by default) registered once per process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use super::ReportError;

/// Default font file (Debian package `fonts-dejavu-core`).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Environment variable that overrides [`DEFAULT_FONT`].
pub const FONT_ENV: &str = "QWAVE_REPORT_FONT";

/// Figure size in pixels (width, height) of single charts.
pub const SIZE: (u32, u32) = (1000, 600);

static FONT: OnceLock<Result<(), (PathBuf, String)>> = OnceLock::new();

/// Registers the font for the figure text (once per process).
///
/// # Errors
/// [`ReportError::Font`] when the file is missing or not a usable font.
pub fn ensure_font() -> Result<(), ReportError> {
    FONT.get_or_init(|| {
        let path = std::env::var_os(FONT_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_FONT));
        let bytes = std::fs::read(&path).map_err(|e| (path.clone(), e.to_string()))?;
        // plotters keeps fonts for the whole process: leak the one buffer.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| (path.clone(), "not a TrueType/OpenType font".to_owned()))
    })
    .clone()
    .map_err(|(path, why)| ReportError::Font { path, why })
}

fn plot_err(path: &Path) -> impl Fn(String) -> ReportError + '_ {
    move |why| ReportError::Plot {
        figure: path.display().to_string(),
        why,
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// Joined line.
    Line,
    /// Thin line for a reference curve (theory, bound, chance level).
    Reference,
    /// Dots of the given radius in pixels.
    Dots(u32),
    /// Line with a dot on every point.
    LineDots,
}

/// One named series of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points (x, y); non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Drawing style.
    pub mark: Mark,
}

impl Series {
    /// A series.
    pub fn new(name: &str, points: Vec<(f64, f64)>, color: RGBColor, mark: Mark) -> Self {
        Self {
            name: name.to_owned(),
            points,
            color,
            mark,
        }
    }
}

/// Axis ranges and labels of a chart.
#[derive(Clone, Debug)]
pub struct Axes {
    /// Title above the plot.
    pub title: String,
    /// x-axis label with unit.
    pub x_label: String,
    /// y-axis label with unit.
    pub y_label: String,
    /// x range (None: from the data).
    pub x_range: Option<(f64, f64)>,
    /// y range (None: from the data, with a margin).
    pub y_range: Option<(f64, f64)>,
}

/// Palette: colour-blind-friendly (Okabe & Ito 2008).
pub mod palette {
    use plotters::style::RGBColor;
    /// Blue.
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    /// Vermillion.
    pub const RED: RGBColor = RGBColor(213, 94, 0);
    /// Bluish green.
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    /// Orange.
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    /// Reddish purple.
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    /// Grey for references.
    pub const GREY: RGBColor = RGBColor(100, 100, 100);
    /// Black.
    pub const BLACK: RGBColor = RGBColor(0, 0, 0);
}

fn data_range(series: &[Series], pick: impl Fn(&(f64, f64)) -> f64) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for p in series.iter().flat_map(|s| &s.points) {
        let v = pick(p);
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo <= hi).then_some((lo, hi))
}

fn padded((lo, hi): (f64, f64), frac: f64) -> (f64, f64) {
    let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    (lo - frac * span, hi + frac * span)
}

/// Draws an x–y chart with a legend to `path` (PNG).
///
/// # Errors
/// [`ReportError::Font`] or [`ReportError::Plot`].
pub fn chart(path: &Path, axes: &Axes, series: &[Series]) -> Result<(), ReportError> {
    ensure_font()?;
    let err = plot_err(path);
    let (x0, x1) = axes
        .x_range
        .or_else(|| data_range(series, |p| p.0).map(|r| padded(r, 0.02)))
        .unwrap_or((0.0, 1.0));
    let (y0, y1) = axes
        .y_range
        .or_else(|| data_range(series, |p| p.1).map(|r| padded(r, 0.08)))
        .unwrap_or((0.0, 1.0));
    let (x1, y1) = (
        if x1 > x0 { x1 } else { x0 + 1.0 },
        if y1 > y0 { y1 } else { y0 + 1.0 },
    );
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut ch = ChartBuilder::on(&root)
        .caption(&axes.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(e.to_string()))?;
    ch.configure_mesh()
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let inside = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    for s in series {
        let pts: Vec<(f64, f64)> = s.points.iter().copied().filter(inside).collect();
        let c = s.color;
        let anno = match s.mark {
            Mark::Line | Mark::LineDots => ch
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?,
            Mark::Reference => ch
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(1)))
                .map_err(|e| err(e.to_string()))?,
            Mark::Dots(r) => ch
                .draw_series(pts.iter().map(|&p| Circle::new(p, r, c.mix(0.5).filled())))
                .map_err(|e| err(e.to_string()))?,
        };
        match s.mark {
            // An unnamed series (e.g. the second line of a band) has no legend entry.
            _ if s.name.is_empty() => {}
            Mark::Dots(_) => {
                anno.label(&s.name)
                    .legend(move |(x, y)| Circle::new((x + 10, y), 4, c.filled()));
            }
            Mark::Reference => {
                anno.label(&s.name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(1))
                });
            }
            _ => {
                anno.label(&s.name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            }
        }
        if s.mark == Mark::LineDots {
            ch.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    ch.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// One heat-map panel: `values[i * ys.len() + j]` is the value at `xs[i]`, `ys[j]`.
#[derive(Clone, Debug)]
pub struct HeatPanel {
    /// Panel title.
    pub title: String,
    /// Column positions (e.g. time in seconds), increasing.
    pub xs: Vec<f64>,
    /// Row positions (e.g. subcarrier index), increasing.
    pub ys: Vec<f64>,
    /// Values, x-major.
    pub values: Vec<f32>,
}

/// Perceptually ordered colour map (anchors of matplotlib's viridis,
/// van der Walt & Smith 2015), `t` in 0..=1.
pub fn viridis(t: f64) -> RGBColor {
    const A: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (A.len() - 1) as f64;
    let i = (x.floor() as usize).min(A.len() - 2);
    let f = x - i as f64;
    let mix = |a: f64, b: f64| (a + f * (b - a)).round() as u8;
    RGBColor(
        mix(A[i].0, A[i + 1].0),
        mix(A[i].1, A[i + 1].1),
        mix(A[i].2, A[i + 1].2),
    )
}

/// Draws heat-map panels side by side with one shared colour bar.
///
/// # Errors
/// [`ReportError::Font`] or [`ReportError::Plot`].
pub fn heatmaps(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    bar_label: &str,
    panels: &[HeatPanel],
    (vmin, vmax): (f64, f64),
) -> Result<(), ReportError> {
    ensure_font()?;
    let err = plot_err(path);
    let width = 420 * panels.len().max(1) as u32 + 150;
    let root = BitMapBackend::new(path, (width, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let root = root
        .titled(title, ("sans-serif", 24))
        .map_err(|e| err(e.to_string()))?;
    let (main, bar) = root.split_horizontally(width - 150);
    let areas = main.split_evenly((1, panels.len().max(1)));
    let span = if vmax > vmin { vmax - vmin } else { 1.0 };
    for (p, area) in panels.iter().zip(&areas) {
        let step = |v: &[f64]| {
            if v.len() > 1 {
                (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64
            } else {
                1.0
            }
        };
        let (dx, dy) = (step(&p.xs), step(&p.ys));
        let (x0, x1) = (
            p.xs.first().copied().unwrap_or(0.0),
            p.xs.last().copied().unwrap_or(1.0) + dx,
        );
        let (y0, y1) = (
            p.ys.first().copied().unwrap_or(0.0) - dy / 2.0,
            p.ys.last().copied().unwrap_or(1.0) + dy / 2.0,
        );
        let mut ch = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 20))
            .margin(8)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(e.to_string()))?;
        ch.configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        let ny = p.ys.len();
        ch.draw_series(p.xs.iter().enumerate().flat_map(|(i, &x)| {
            p.ys.iter().enumerate().map(move |(j, &y)| {
                let v = f64::from(p.values.get(i * ny + j).copied().unwrap_or(f32::NAN));
                Rectangle::new(
                    [(x, y - dy / 2.0), (x + dx, y + dy / 2.0)],
                    viridis((v - vmin) / span).filled(),
                )
            })
        }))
        .map_err(|e| err(e.to_string()))?;
    }
    // Colour bar.
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(40)
        .margin_bottom(53)
        .margin_right(10)
        .y_label_area_size(85)
        .build_cartesian_2d(0.0..1.0, vmin..vmin + span)
        .map_err(|e| err(e.to_string()))?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(bar_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let steps = 100;
    cb.draw_series((0..steps).map(|k| {
        let a = vmin + span * k as f64 / steps as f64;
        let b = vmin + span * (k + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            viridis((k as f64 + 0.5) / steps as f64).filled(),
        )
    }))
    .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
