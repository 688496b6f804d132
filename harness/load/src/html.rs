//! The HTML report of a load run (`--html`): the summary, errors by kind, the generators, and
//! two plots drawn with plotters' SVG backend and inlined: the latency histogram of correct
//! answers and correct answers per second over the run. No scripts and no external files, so
//! it can be attached to a CI run and opened offline.

use std::fmt::Write as _;

use plotters::prelude::*;

use super::report::{ms, rfc3339, LoadReport};
use super::stats::decode_histogram;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}\
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
td.n{text-align:right}figure{margin:1em 0}";

/// Plot size in pixels.
const PLOT: (u32, u32) = (720, 320);

/// Bars in the latency histogram.
const BARS: u64 = 40;

/// The histogram's x axis ends at this quantile, so that a few outliers do not squash the bars;
/// how many answers lie beyond is said under the plot.
const HISTOGRAM_QUANTILE: f64 = 0.999;

/// Renders `report` as a self-contained page.
pub fn render(report: &LoadReport) -> String {
    let title = format!("jpki-sim load: {}", report.workload.describe());
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{0}</h1>\n",
        escape(&title)
    );
    summary(&mut html, report);
    errors(&mut html, report);
    generators(&mut html, report);
    html.push_str("<h2>Latency of correct answers</h2>\n");
    html.push_str(&latency_figure(report));
    html.push_str("<h2>Correct answers per second</h2>\n");
    html.push_str(&throughput_figure(report));
    html.push_str("</body>\n</html>\n");
    html
}

fn summary(html: &mut String, report: &LoadReport) {
    let l = &report.latency_us;
    let rows = [
        ("started", rfc3339(report.started_at)),
        ("duration", format!("{:.3} s", report.duration_s)),
        ("operations completed", report.attempted.to_string()),
        ("correct answers", report.ops.to_string()),
        (
            "errors",
            format!("{} ({:.2} %)", report.failed(), report.error_rate() * 100.0),
        ),
        (
            "throughput",
            format!("{:.1} correct answers/s", report.ops_per_second),
        ),
        ("latency p50", format!("{} ms", ms(l.p50))),
        ("latency p90", format!("{} ms", ms(l.p90))),
        ("latency p99", format!("{} ms", ms(l.p99))),
        ("latency max", format!("{} ms", ms(l.max))),
        ("latency mean", format!("{:.3} ms", l.mean / 1000.0)),
    ];
    html.push_str("<table>\n");
    for (name, value) in rows {
        let _ = writeln!(
            html,
            "<tr><th>{name}</th><td class=\"n\">{}</td></tr>",
            escape(&value)
        );
    }
    html.push_str("</table>\n");
}

fn errors(html: &mut String, report: &LoadReport) {
    html.push_str("<h2>Errors by kind</h2>\n");
    if report.errors.is_empty() {
        html.push_str("<p>None: every answer was correct.</p>\n");
        return;
    }
    html.push_str("<table>\n<tr><th>kind</th><th>count</th><th>first seen</th></tr>\n");
    for (kind, count) in &report.errors {
        let example = report.error_examples.get(kind).map_or("", String::as_str);
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td class=\"n\">{count}</td><td>{}</td></tr>",
            escape(kind),
            escape(example)
        );
    }
    html.push_str("</table>\n");
}

fn generators(html: &mut String, report: &LoadReport) {
    html.push_str("<h2>Generators</h2>\n<table>\n<tr><th>system under test</th><th>cards</th><th>workers</th><th>started</th><th>duration</th><th>correct</th><th>correct/s</th><th>machine</th></tr>\n");
    for g in &report.generators {
        let load = g.machine.load_average.map_or(String::new(), |l| {
            format!(", load {:.2} {:.2} {:.2}", l[0], l[1], l[2])
        });
        let machine = format!(
            "{} cores, {} {}{load}",
            g.machine.cores, g.machine.os, g.machine.arch
        );
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{:.3} s</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td>{}</td></tr>",
            escape(&g.sut),
            g.cards,
            g.concurrency,
            escape(&rfc3339(g.started_at)),
            g.duration_s,
            g.ops,
            g.ops_per_second,
            escape(&machine)
        );
    }
    html.push_str("</table>\n");
}

/// The latency histogram as a figure: [`BARS`] equal bars from 0 to the 99.9th percentile.
fn latency_figure(report: &LoadReport) -> String {
    let histogram = match decode_histogram(&report.histogram) {
        Ok(histogram) if !histogram.is_empty() => histogram,
        Ok(_) => return "<p>No correct answers.</p>\n".to_owned(),
        Err(err) => {
            return format!(
                "<p>The histogram cannot be read: {}</p>\n",
                escape(&err.to_string())
            )
        }
    };
    let (bars, width, beyond) = latency_bars(&histogram);
    let x_end = (width * bars.len() as u64) as f64 / 1000.0;
    let y_end = bars.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let svg = plot(|root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_end, 0f64..y_end)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("latency (ms)")
            .y_desc("correct answers")
            .y_label_formatter(&|count| format!("{count:.0}"))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, &count)| {
            let x0 = (i as u64 * width) as f64 / 1000.0;
            let x1 = ((i as u64 + 1) * width) as f64 / 1000.0;
            Rectangle::new([(x0, 0.0), (x1, count as f64)], BLUE.mix(0.6).filled())
        }))?;
        Ok(())
    });
    let caption = format!(
        "{} correct answers in bars of {} ms; {beyond} slower than {} ms (beyond the {}th percentile) not drawn, the slowest {} ms.",
        histogram.len(),
        ms(width),
        ms(width * BARS),
        HISTOGRAM_QUANTILE * 100.0,
        ms(histogram.max())
    );
    figure(svg, &caption)
}

/// The histogram in [`BARS`] equal bars (µs wide) from 0 to the [`HISTOGRAM_QUANTILE`], the
/// empty ones after the last answer dropped so that the axis ends with the data; and how many
/// answers lie beyond.
fn latency_bars(histogram: &hdrhistogram::Histogram<u64>) -> (Vec<u64>, u64, u64) {
    let top = histogram.value_at_quantile(HISTOGRAM_QUANTILE).max(1);
    // Wide enough that `top` itself falls in the last bar, not beyond it.
    let width = (top + 1).div_ceil(BARS).max(1);
    let mut bars = vec![0u64; BARS as usize];
    let mut beyond = 0u64;
    for value in histogram.iter_recorded() {
        let bar = value.value_iterated_to() / width;
        match bars.get_mut(bar as usize) {
            Some(count) => *count += value.count_at_value(),
            None => beyond += value.count_at_value(),
        }
    }
    let drawn = bars
        .iter()
        .rposition(|&count| count > 0)
        .map_or(1, |last| last + 1);
    bars.truncate(drawn);
    (bars, width, beyond)
}

/// Correct answers per second as a line with a point per second.
fn throughput_figure(report: &LoadReport) -> String {
    if report.throughput.is_empty() {
        return "<p>No correct answers.</p>\n".to_owned();
    }
    let points: Vec<(u32, f64)> = report
        .throughput
        .iter()
        .enumerate()
        .map(|(second, &count)| (second as u32, count as f64))
        .collect();
    // Whole seconds on the axis: a fractional range labels a 3-second run `0 0 1 2 2 2 3`.
    let x_end = u32::try_from(points.len()).unwrap_or(u32::MAX).max(1);
    let y_end = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let rate_digits = if y_end < 10.0 { 1 } else { 0 };
    let svg = plot(|root| {
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0u32..x_end, 0f64..y_end)?;
        chart
            .configure_mesh()
            .x_desc("second of the run")
            .y_desc("correct answers/s")
            .x_labels((x_end as usize + 1).min(12))
            .x_label_formatter(&|second| format!("{second}"))
            .y_label_formatter(&|rate| format!("{rate:.rate_digits$}"))
            .draw()?;
        chart.draw_series(LineSeries::new(points.iter().copied(), &BLUE))?;
        chart.draw_series(
            points
                .iter()
                .map(|&point| Circle::new(point, 3, BLUE.filled())),
        )?;
        Ok(())
    });
    let caption = format!(
        "By the second each operation started in; {:.1} correct answers/s over the run. The last second may be partial.",
        report.ops_per_second
    );
    figure(svg, &caption)
}

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Draws on a white SVG canvas of [`PLOT`] size; a drawing error becomes a note instead.
fn plot(
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> PlotResult,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, PLOT).into_drawing_area();
        root.fill(&WHITE).map_err(|err| err.to_string())?;
        draw(root.clone()).map_err(|err| err.to_string())?;
        root.present().map_err(|err| err.to_string())?;
    }
    Ok(svg)
}

fn figure(svg: Result<String, String>, caption: &str) -> String {
    match svg {
        Ok(svg) => format!(
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            svg.trim_end(),
            escape(caption)
        ),
        Err(err) => format!("<p>The plot could not be drawn: {}</p>\n", escape(&err)),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::fixed_report;

    #[test]
    fn html_report_of_a_fixed_run() {
        insta::assert_snapshot!(render(&fixed_report()));
    }

    /// The tick labels of a figure's axis, in drawing order.
    fn axis_labels(svg: &str, after: &str) -> Vec<String> {
        let start = svg.find(after).expect("axis description") + after.len();
        svg[start..]
            .split("</text>")
            .filter_map(|chunk| chunk.rsplit('>').next())
            .map(|label| label.trim().to_owned())
            .take_while(|label| !label.is_empty())
            .collect()
    }

    #[test]
    fn axis_labels_never_repeat_and_the_histogram_ends_with_its_data() {
        for seconds in [1usize, 2, 3, 7, 40] {
            let mut report = fixed_report();
            report.throughput = (0..seconds as u64).map(|s| 100 + s).collect();
            let svg = throughput_figure(&report);
            let labels = axis_labels(&svg, "second of the run");
            let seconds_axis: Vec<&String> = labels.iter().skip_while(|l| *l != "0").collect();
            for pair in seconds_axis.windows(2) {
                assert_ne!(pair[0], pair[1], "{seconds} s: {labels:?}");
            }
        }
        // The histogram's axis ends with a bar that has answers, even when the percentile
        // bound lies far past the answers below it.
        let mut histogram = crate::stats::new_histogram();
        for micros in [900u64, 1_000, 1_100, 1_200] {
            histogram.record_n(micros, 999).unwrap();
        }
        histogram.record(500_000).unwrap();
        let (bars, width, beyond) = latency_bars(&histogram);
        assert!(*bars.last().unwrap() > 0, "{bars:?}");
        assert_eq!(bars.iter().sum::<u64>() + beyond, histogram.len());
        assert!(
            width * bars.len() as u64 >= 1_200,
            "{width} × {}",
            bars.len()
        );
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = render(&fixed_report());
        assert_eq!(html.matches("<svg").count(), 2, "two inline plots");
        for outside in ["<script", "src=", "href=", "<link"] {
            assert!(!html.contains(outside), "{outside}");
        }
    }

    #[test]
    fn a_run_without_correct_answers_says_so_instead_of_plotting() {
        let mut report = fixed_report();
        report.histogram = crate::stats::encode_histogram(&crate::stats::new_histogram());
        report.throughput.clear();
        let html = render(&report);
        assert_eq!(html.matches("No correct answers.").count(), 2);
        assert!(!html.contains("<svg"));
    }

    #[test]
    fn error_text_is_escaped() {
        let mut report = fixed_report();
        report
            .error_examples
            .insert("undetermined".to_owned(), "<b>&</b>".to_owned());
        let html = render(&report);
        assert!(html.contains("&lt;b&gt;&amp;&lt;/b&gt;"));
    }
}
