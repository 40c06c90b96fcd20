//! [`Figure`]: a price or a percentage as the stock table holds it, with two decimals.
//!
//! The table's figures are two-decimal numbers (`16.05`, `-3.20%`). A figure keeps its value
//! exact, as whole hundredths in an `i64`, and is written out only where it is shown: into the
//! page, the JSON or the CSV, from a few bytes on the stack. A page of 94 rows shows 376 of
//! them, so a `String` each would be 376 allocations and as many frees per page.

use std::fmt;

use serde::{Serialize, Serializer};

/// A number with exactly two decimals, and whether it is a percentage (`%` follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    hundredths: i64,
    percent: bool,
}

/// Longest text of a figure: a sign, 19 digits of `i64 / 100`, a point, two decimals, `%`.
const LONGEST: usize = 24;

impl Figure {
    /// `value` rounded to whole hundredths, which is exact for the two-decimal figures the
    /// table holds (`3.2` is `3.20`).
    pub fn new(value: f64) -> Figure {
        Figure {
            hundredths: (value * 100.0).round() as i64,
            percent: false,
        }
    }

    /// `value` % rounded to whole hundredths: `Figure::percent(10.01)` shows as `10.01%`.
    pub fn percent(value: f64) -> Figure {
        Figure {
            percent: true,
            ..Figure::new(value)
        }
    }

    /// The value as a float (`-3.2` for `-3.20%`): what the charts scale and compare.
    pub fn value(self) -> f64 {
        // Division is correctly rounded, so 990 / 100 is the same float as the literal 9.9.
        self.hundredths as f64 / 100.0
    }

    /// The same figure without its sign.
    pub fn abs(self) -> Figure {
        Figure {
            hundredths: self.hundredths.saturating_abs(),
            ..self
        }
    }

    /// `up`, `down` or `flat`: the sign as the pages style it.
    pub fn trend(self) -> &'static str {
        match self.hundredths.signum() {
            1 => "up",
            -1 => "down",
            _ => "flat",
        }
    }

    /// Writes the figure into `buf` from its end, digit by digit; returns where it starts.
    /// Float formatting, and even `format!` with integers, cost more than the rest of a row.
    fn write(self, buf: &mut [u8; LONGEST]) -> usize {
        let mut at = buf.len();
        let mut put = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        if self.percent {
            put(b'%');
        }
        let abs = self.hundredths.unsigned_abs();
        put(b'0' + (abs % 10) as u8);
        put(b'0' + (abs / 10 % 10) as u8);
        put(b'.');
        let mut whole = abs / 100;
        loop {
            put(b'0' + (whole % 10) as u8);
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        if self.hundredths < 0 {
            put(b'-');
        }
        at
    }

    /// Hands the figure's text to `f`, written on the stack.
    fn with_str<R>(self, f: impl FnOnce(&str) -> R) -> R {
        let mut buf = [0u8; LONGEST];
        let start = self.write(&mut buf);
        // Only ASCII digits, `-`, `.` and `%` were written.
        f(std::str::from_utf8(&buf[start..]).unwrap_or_default())
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.pad(s))
    }
}

/// Serialized as its text, `"-3.20%"`, as the JSON and CSV have always carried it.
impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_str(|s| serializer.serialize_str(s))
    }
}

#[cfg(test)]
mod tests {
    use super::Figure;

    #[test]
    fn figures_show_as_float_formatting_would() {
        for v in [
            0.0, 16.05, 14.6, -10.0, -0.01, 0.005, 1234.5, -3.2, 10.01, 99.99, 0.5, -0.5, 100.0,
            1e9, -123456.78,
        ] {
            let want = format!("{v:.2}").replace("-0.00", "0.00");
            assert_eq!(Figure::new(v).to_string(), want, "{v}");
            assert_eq!(Figure::percent(v).to_string(), format!("{want}%"), "{v}");
        }
        let lowest = Figure {
            hundredths: i64::MIN,
            percent: true,
        };
        assert_eq!(lowest.to_string(), "-92233720368547758.08%");
        assert_eq!(lowest.abs().to_string(), "92233720368547758.07%");
    }

    #[test]
    fn a_figure_keeps_its_value_and_sign() {
        assert_eq!(Figure::percent(9.9).value(), 9.9);
        assert_eq!(Figure::percent(-3.2).abs().to_string(), "3.20%");
        let trends = [-0.01, 0.0, 0.004, 0.01].map(|v| Figure::new(v).trend());
        assert_eq!(trends, ["down", "flat", "flat", "up"]);
        assert_eq!(
            serde_json::to_string(&Figure::percent(-3.2))
                .ok()
                .as_deref(),
            Some("\"-3.20%\"")
        );
    }
}
