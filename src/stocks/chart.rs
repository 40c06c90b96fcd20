//! The site's two charts, as geometry for the templates to draw in SVG: no JavaScript and no
//! chart library, just rectangles whose places are worked out here, where they can be tested.
//!
//! - The home page's distribution of 涨跌幅: how many stocks fall into each band of change,
//!   from 跌停 to 涨停, the way Chinese market sites summarise a trading day.
//! - The personal centre's bars: one horizontal bar per followed stock, right of the zero line
//!   when it rose, left when it fell.
//!
//! Colours follow the A-share convention the table uses: red (`up`) up, green (`down`) down.

use serde::Serialize;

use super::figure::Figure;
use super::queries::Stock;
use miniweb::framework::Text;

/// A change at or beyond this (in %) is taken as the daily limit, 涨停 or 跌停 (10 % on the
/// main boards; the figures are rounded to two decimals, so 9.9 leaves room for rounding).
const LIMIT: f64 = 9.9;

/// The distribution chart's drawing area, in SVG user units (the SVG scales to its box).
const DIST_WIDTH: f64 = 432.0;
const DIST_BAR_AREA: f64 = 150.0;
/// Room above the tallest bar for its count, and below the bars for the band names.
const DIST_TOP: f64 = 22.0;

/// One band of the distribution: its name, how many stocks it holds and where its bar goes.
#[derive(Debug, Serialize, PartialEq)]
pub struct Band {
    /// Shown under the bar: `涨停`, `3~5` (in %), `平盘`.
    pub label: &'static str,
    /// Stocks whose change falls in the band.
    pub count: usize,
    /// `up`, `down` or `flat`: the bar's colour.
    pub trend: &'static str,
    /// The bar's left edge.
    pub x: f64,
    /// The bar's width.
    pub width: f64,
    /// The bar's top.
    pub y: f64,
    /// The bar's height.
    pub height: f64,
    /// Horizontal centre, for the labels.
    pub mid: f64,
}

/// The home page's chart: the bands and the sentence that says the same in words.
#[derive(Debug, Serialize)]
pub struct Distribution {
    /// The nine bands, from 跌停 to 涨停.
    pub bands: Vec<Band>,
    /// The SVG's user-space width.
    pub width: f64,
    /// The SVG's user-space height.
    pub height: f64,
    /// Where the bars stand, and where the band names go.
    pub baseline: f64,
    /// `上涨 93 家，下跌 1 家，平盘 0 家。`, the text alternative's first line.
    pub summary: String,
}

/// The bands, from the biggest fall to the biggest rise: (name, trend, is `chg` in it).
type Bucket = (&'static str, &'static str, fn(f64) -> bool);
const BUCKETS: [Bucket; 9] = [
    ("跌停", "down", |c| c <= -LIMIT),
    ("<-5", "down", |c| c > -LIMIT && c < -5.0),
    ("-5~-3", "down", |c| (-5.0..-3.0).contains(&c)),
    ("-3~0", "down", |c| (-3.0..0.0).contains(&c)),
    ("平盘", "flat", |c| c == 0.0),
    ("0~3", "up", |c| c > 0.0 && c <= 3.0),
    ("3~5", "up", |c| c > 3.0 && c <= 5.0),
    (">5", "up", |c| c > 5.0 && c < LIMIT),
    ("涨停", "up", |c| c >= LIMIT),
];

/// How `changes` (in %, one per stock) spread over the bands.
pub fn distribution(changes: impl IntoIterator<Item = f64>) -> Distribution {
    let mut counts = [0usize; BUCKETS.len()];
    let (mut rose, mut fell, mut flat) = (0, 0, 0);
    for change in changes {
        if let Some(i) = BUCKETS.iter().position(|(_, _, holds)| holds(change)) {
            counts[i] += 1;
        }
        match change.partial_cmp(&0.0) {
            Some(std::cmp::Ordering::Greater) => rose += 1,
            Some(std::cmp::Ordering::Less) => fell += 1,
            _ => flat += 1,
        }
    }
    let tallest = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let slot = DIST_WIDTH / BUCKETS.len() as f64;
    let baseline = DIST_TOP + DIST_BAR_AREA;
    let bands = BUCKETS
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (&(label, trend, _), count))| {
            // A band with no stock still shows a hairline, so that the axis reads as complete.
            let height = (count as f64 / tallest * DIST_BAR_AREA).max(1.0);
            let x = i as f64 * slot + slot * 0.15;
            Band {
                label,
                count,
                trend,
                x: round(x),
                width: round(slot * 0.7),
                y: round(baseline - height),
                height: round(height),
                mid: round(x + slot * 0.35),
            }
        })
        .collect();
    Distribution {
        bands,
        width: DIST_WIDTH,
        height: baseline + 24.0,
        baseline,
        summary: format!("上涨 {rose} 家，下跌 {fell} 家，平盘 {flat} 家。"),
    }
}

/// The centre's chart geometry, in SVG user units.
const BARS_WIDTH: f64 = 360.0;
const BARS_LABEL: f64 = 84.0;
const BARS_VALUE: f64 = 60.0;
const BARS_ROW: f64 = 28.0;

/// One followed stock's bar.
#[derive(Debug, Serialize, PartialEq)]
pub struct Bar {
    /// The stock's short name, left of the chart.
    pub label: Text,
    /// Its change as the table shows it: `-3.20%`.
    pub value: Figure,
    /// `up`, `down` or `flat`.
    pub trend: &'static str,
    /// The bar's left edge.
    pub x: f64,
    /// The bar's width.
    pub width: f64,
    /// The row's top.
    pub y: f64,
    /// Where the value's text starts.
    pub text_x: f64,
    /// Which way the value's text runs from there (`start`, `end`).
    pub anchor: &'static str,
}

/// The personal centre's chart: a bar per followed stock around a zero line.
#[derive(Debug, Serialize)]
pub struct Bars {
    /// One bar per followed stock, in the table's order.
    pub bars: Vec<Bar>,
    /// The SVG's user-space width.
    pub width: f64,
    /// The SVG's user-space height.
    pub height: f64,
    /// The zero line's x.
    pub zero: f64,
    /// The text alternative: every stock and its change, in words.
    pub summary: String,
}

/// A bar per stock of `stocks`, scaled to the largest change among them.
pub fn bars(stocks: &[Stock]) -> Bars {
    let largest_rise = stocks.iter().map(|s| s.chg.value()).fold(0.0, f64::max);
    let largest_fall = stocks.iter().map(|s| -s.chg.value()).fold(0.0, f64::max);
    let span = (largest_rise + largest_fall).max(f64::EPSILON);
    // The plot runs between the names and room for a value on either side.
    let left = BARS_LABEL + if largest_fall > 0.0 { BARS_VALUE } else { 0.0 };
    let right = BARS_WIDTH - BARS_VALUE;
    let scale = (right - left) / span;
    let zero = left + largest_fall * scale;
    let bars = stocks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let change = s.chg.value();
            let length = (change.abs() * scale).max(1.0);
            let (x, text_x, anchor) = if change < 0.0 {
                (zero - length, zero - length - 4.0, "end")
            } else {
                (zero, zero + length + 4.0, "start")
            };
            Bar {
                label: s.short.clone(),
                value: s.chg,
                trend: s.trend,
                x: round(x),
                width: round(length),
                y: i as f64 * BARS_ROW,
                text_x: round(text_x),
                anchor,
            }
        })
        .collect();
    let summary = stocks
        .iter()
        .map(|s| {
            let verb = match s.trend {
                "up" => "涨",
                "down" => "跌",
                _ => "平",
            };
            format!("{} {verb} {}", s.short, s.chg.abs())
        })
        .collect::<Vec<_>>()
        .join("，");
    Bars {
        bars,
        width: BARS_WIDTH,
        height: stocks.len() as f64 * BARS_ROW,
        zero: round(zero),
        summary: format!("{summary}。"),
    }
}

/// To a tenth of a unit: the SVG stays short and still exact to the eye.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stock(short: &str, change: f64) -> Stock {
        Stock {
            code: "000001".into(),
            short: short.into(),
            chg: Figure::percent(change),
            trend: Figure::percent(change).trend(),
            turnover: Figure::percent(0.0),
            price: Figure::new(0.0),
            highs: Figure::new(0.0),
            time: "".into(),
            note: String::new(),
            followed: false,
        }
    }

    #[test]
    fn every_change_falls_in_exactly_one_band() {
        for c in [
            -10.0, -9.9, -9.89, -5.01, -5.0, -3.0, -2.99, -0.01, 0.0, 0.01, 3.0, 3.01, 5.0, 5.01,
            9.89, 9.9, 10.04,
        ] {
            let holding = BUCKETS.iter().filter(|(_, _, holds)| holds(c)).count();
            assert_eq!(holding, 1, "{c}");
        }
    }

    #[test]
    fn distribution_counts_and_scales_to_the_fullest_band() {
        let d = distribution([10.01, 1.0, 2.0, -10.0, 0.0]);
        let count = |label| d.bands.iter().find(|b| b.label == label).unwrap().count;
        assert_eq!(
            (count("涨停"), count("0~3"), count("跌停"), count("平盘")),
            (1, 2, 1, 1)
        );
        let fullest = d.bands.iter().find(|b| b.label == "0~3").unwrap();
        assert_eq!(fullest.height, DIST_BAR_AREA);
        assert_eq!(fullest.y + fullest.height, d.baseline);
        let empty = d.bands.iter().find(|b| b.label == "3~5").unwrap();
        assert_eq!(empty.height, 1.0, "an empty band keeps a hairline");
        assert_eq!(d.summary, "上涨 3 家，下跌 1 家，平盘 1 家。");
        assert!(d.bands.iter().all(|b| b.x + b.width <= d.width));
    }

    #[test]
    fn bars_go_right_when_up_and_left_when_down_from_one_zero_line() {
        let b = bars(&[stock("涨", 10.0), stock("跌", -5.0)]);
        let (up, down) = (&b.bars[0], &b.bars[1]);
        assert_eq!(up.x, b.zero);
        assert_eq!(down.x + down.width, b.zero);
        assert!((up.width - 2.0 * down.width).abs() < 0.2, "{b:?}");
        assert!(up.x + up.width + BARS_VALUE <= b.width + 0.1);
        assert!(down.x - BARS_VALUE >= BARS_LABEL - 0.1);
        assert_eq!((up.anchor, down.anchor), ("start", "end"));
        assert_eq!(b.summary, "涨 涨 10.00%，跌 跌 5.00%。");
        assert_eq!(b.height, 2.0 * BARS_ROW);
    }

    #[test]
    fn all_rises_need_no_room_left_of_zero() {
        let b = bars(&[stock("a", 1.0), stock("b", 0.0)]);
        assert_eq!(b.zero, BARS_LABEL);
        assert_eq!(b.bars[1].width, 1.0);
    }
}
