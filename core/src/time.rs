//! Dates of experiments.json (`start`/`end`) as milliseconds since the Unix epoch, the unit of
//! JavaScript's `Date.now()`. ISO 8601 / RFC 3339 parsed by hand: core has no dependencies.
//!
//! Accepted: `YYYY-MM-DD`, optionally followed by `T` (or `t`, or one space) and `HH:MM`,
//! `HH:MM:SS` or `HH:MM:SS.fraction`, optionally followed by a zone: `Z`/`z`, `+HH:MM`, `-HH:MM`
//! or `+HHMM`. **A date or time without a zone is UTC**, unlike JavaScript's `Date.parse`, which
//! reads a date-time without a zone as the visitor's local time: an experiment must start at the
//! same instant for every visitor, wherever they are. Write the zone to mean local shop time
//! (`2026-11-27T00:00:00+01:00`).
//!
//! Out-of-range fields (month 13, February 30, 25:00, second 60) are refused rather than rolled
//! over. `24:00` (with zero minutes and seconds) is accepted as midnight at the end of the day,
//! as ISO 8601 and JavaScript allow. Fractions of a second beyond milliseconds are truncated.

/// Parses an ISO 8601 / RFC 3339 date or date-time into milliseconds since 1970-01-01T00:00:00Z.
/// `None` when the text is not such a date or a field is out of range.
pub fn parse_date(s: &str) -> Option<f64> {
    let mut cursor = Cursor {
        bytes: s.as_bytes(),
        i: 0,
    };

    let year = cursor.digits(4)?;
    cursor.expect(b'-')?;
    let month = cursor.digits(2)?;
    cursor.expect(b'-')?;
    let day = cursor.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }

    let mut millis_of_day = 0;
    let mut offset_minutes = 0;
    if !cursor.at_end() {
        match cursor.next()? {
            b'T' | b't' | b' ' => {}
            _ => return None,
        }
        let hour = cursor.digits(2)?;
        cursor.expect(b':')?;
        let minute = cursor.digits(2)?;
        let mut second = 0;
        let mut millis = 0;
        if cursor.peek() == Some(b':') {
            cursor.i += 1;
            second = cursor.digits(2)?;
            if cursor.peek() == Some(b'.') {
                cursor.i += 1;
                millis = cursor.fraction_as_millis()?;
            }
        }
        let end_of_day = hour == 24 && minute == 0 && second == 0 && millis == 0;
        if !(hour < 24 || end_of_day) || minute > 59 || second > 59 {
            return None;
        }
        millis_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + millis;
        offset_minutes = cursor.zone()?;
    }
    if !cursor.at_end() {
        return None;
    }

    let days = days_from_civil(year, month, day);
    let millis = days * 86_400_000 + millis_of_day - offset_minutes * 60_000;
    // Exact: |millis| < 2^53 for every four-digit year.
    Some(millis as f64)
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`):
/// years are shifted to start in March so the leap day is the last day of the shifted year,
/// then counted in 400-year eras of 146 097 days.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // [0, 399]
    let shifted_month = (month + 9) % 12; // March = 0 … February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

struct Cursor<'a> {
    bytes: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, wanted: u8) -> Option<()> {
        (self.next()? == wanted).then_some(())
    }

    /// Exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let mut n = 0;
        for _ in 0..count {
            let b = self.next()?;
            if !b.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(b - b'0');
        }
        Some(n)
    }

    /// One or more digits after the decimal point, truncated to milliseconds.
    fn fraction_as_millis(&mut self) -> Option<i64> {
        let start = self.i;
        let mut millis = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            if self.i - start < 3 {
                millis = millis * 10 + i64::from(b - b'0');
            }
            self.i += 1;
        }
        match self.i - start {
            0 => None,
            1 => Some(millis * 100),
            2 => Some(millis * 10),
            _ => Some(millis),
        }
    }

    /// The zone suffix as minutes east of UTC; 0 when there is none.
    fn zone(&mut self) -> Option<i64> {
        let sign = match self.peek() {
            None => return Some(0),
            Some(b'Z' | b'z') => {
                self.i += 1;
                return Some(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(_) => return None,
        };
        self.i += 1;
        let hours = self.digits(2)?;
        if self.peek() == Some(b':') {
            self.i += 1;
        }
        let minutes = self.digits(2)?;
        if hours > 23 || minutes > 59 {
            return None;
        }
        Some(sign * (hours * 60 + minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values come from node 20: `TZ=UTC node -e "console.log(Date.parse('...'))"`.

    #[test]
    fn a_date_alone_is_midnight_utc() {
        assert_eq!(parse_date("2026-11-27"), Some(1_795_737_600_000.0));
        assert_eq!(parse_date("1970-01-01"), Some(0.0));
    }

    #[test]
    fn a_date_time_without_zone_is_utc() {
        assert_eq!(parse_date("2026-11-27T10:00"), Some(1_795_773_600_000.0));
        assert_eq!(parse_date("2026-11-27T10:00:00"), Some(1_795_773_600_000.0));
    }

    #[test]
    fn z_means_utc() {
        assert_eq!(
            parse_date("2026-11-27T10:00:00Z"),
            Some(1_795_773_600_000.0)
        );
        assert_eq!(
            parse_date("2026-11-27t10:00:00z"),
            Some(1_795_773_600_000.0)
        );
    }

    #[test]
    fn offsets_are_subtracted_to_reach_utc() {
        assert_eq!(
            parse_date("2026-11-27T10:00:00.123+01:00"),
            Some(1_795_770_000_123.0)
        );
        assert_eq!(
            parse_date("2024-02-29T23:59:59-05:30"),
            Some(1_709_270_999_000.0)
        );
        assert_eq!(
            parse_date("2026-11-27T10:00:00+0100"),
            Some(1_795_770_000_000.0)
        );
    }

    #[test]
    fn fractions_are_milliseconds_truncated() {
        assert_eq!(
            parse_date("2026-11-27T10:00:00.1Z"),
            Some(1_795_773_600_100.0)
        );
        assert_eq!(
            parse_date("2026-11-27T10:00:00.1234Z"),
            Some(1_795_773_600_123.0)
        );
    }

    #[test]
    fn a_space_may_separate_date_and_time() {
        assert_eq!(
            parse_date("2026-11-27 10:00:00Z"),
            Some(1_795_773_600_000.0)
        );
    }

    #[test]
    fn dates_before_the_epoch_are_negative() {
        assert_eq!(parse_date("1969-12-31T23:59:59.999Z"), Some(-1.0));
        assert_eq!(parse_date("0001-01-01"), Some(-62_135_596_800_000.0));
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        assert_eq!(parse_date("2000-02-29"), Some(951_782_400_000.0));
        assert_eq!(parse_date("2100-02-28"), Some(4_107_456_000_000.0));
        assert_eq!(parse_date("2100-02-29"), None);
        assert_eq!(parse_date("1900-02-29"), None);
        assert_eq!(parse_date("2200-02-29"), None);
        assert_eq!(parse_date("1600-02-29"), Some(-11_670_998_400_000.0));
        assert_eq!(parse_date("2026-02-29"), None);
    }

    #[test]
    fn the_last_representable_millisecond_of_year_9999() {
        assert_eq!(
            parse_date("9999-12-31T23:59:59.999Z"),
            Some(253_402_300_799_999.0)
        );
    }

    #[test]
    fn midnight_24_00_is_the_end_of_the_day() {
        assert_eq!(parse_date("2026-11-27T24:00"), Some(1_795_824_000_000.0));
        assert_eq!(parse_date("2026-11-27T24:00:01"), None);
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        for bad in [
            "2026-13-01",
            "2026-00-10",
            "2026-02-30",
            "2026-04-31",
            "2026-11-00",
            "2026-11-27T25:00",
            "2026-11-27T10:60",
            "2026-11-27T10:00:60Z",
            "2026-11-27T10:00+24:00",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "",
            "2026",
            "2026-11",
            "26-11-27",
            "2026-1-27",
            "2026/11/27",
            "2026-11-27T",
            "2026-11-27T10",
            "2026-11-27T10Z",
            "2026-11-27T10:00:00.",
            "2026-11-27T10:00:00+1",
            "2026-11-27T10:00:00 Z",
            "2026-11-27x",
            " 2026-11-27",
            "2026-11-27 ",
            "２０２６-11-27",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
    }
}
